"""The business profile served at ``/.well-known/ucp`` (overview.md "Business Profile").

Version ``2026-04-08``; the shopping service over REST at ``config.endpoint``;
capabilities checkout, order, fulfillment and discount (both extending
checkout), each with ``spec``/``schema`` on ucp.dev as the namespace binding
requires (OVR-03/04); the payment handler of :mod:`reference_merchant.payments`;
and ``signing_keys[]`` with every published public key (the active one and any
kept for rotation, SIG-07/SIG-10). It is served unsigned-for-access (public),
with ``Cache-Control: public, max-age=300`` (OVR-33) and no redirects.
"""

from __future__ import annotations

from typing import Any, Final

from contracts import KeyStore
from contracts.ucp import CHECKOUT, DISCOUNT, FULFILLMENT, ORDER, SHOPPING_SERVICE, Capability
from reference_merchant.config import MerchantConfig
from reference_merchant.payments import payment_handlers

CACHE_CONTROL: Final = "public, max-age=300"


def capabilities(version: str) -> dict[str, list[dict[str, Any]]]:
    base = f"https://ucp.dev/{version}"
    return {
        CHECKOUT: [
            {
                "version": version,
                "spec": f"{base}/specification/checkout",
                "schema": f"{base}/schemas/shopping/checkout.json",
            }
        ],
        ORDER: [
            {"version": version, "spec": f"{base}/specification/order", "schema": f"{base}/schemas/shopping/order.json"}
        ],
        FULFILLMENT: [
            {
                "version": version,
                "spec": f"{base}/specification/fulfillment",
                "schema": f"{base}/schemas/shopping/fulfillment.json",
                "extends": CHECKOUT,
                "config": {"allows_multi_destination": {"shipping": False}},
            }
        ],
        DISCOUNT: [
            {
                "version": version,
                "spec": f"{base}/specification/discount",
                "schema": f"{base}/schemas/shopping/discount.json",
                "extends": CHECKOUT,
            }
        ],
    }


def parsed_capabilities(version: str) -> dict[str, list[Capability]]:
    return {
        name: [Capability.model_validate(entry) for entry in entries] for name, entries in capabilities(version).items()
    }


def business_profile(config: MerchantConfig, keys: KeyStore) -> dict[str, Any]:
    version = config.protocol_version
    return {
        "ucp": {
            "version": version,
            "services": {
                SHOPPING_SERVICE: [
                    {
                        "version": version,
                        "spec": f"https://ucp.dev/{version}/specification/overview",
                        "transport": "rest",
                        "schema": f"https://ucp.dev/{version}/services/shopping/rest.openapi.json",
                        "endpoint": config.endpoint,
                    }
                ]
            },
            "capabilities": capabilities(version),
            "payment_handlers": payment_handlers(version),
        },
        "signing_keys": keys.jwks.signing_keys(),
    }
