"""The connector's own UCP platform profile: its identity towards merchants.

Merchants verify our request signatures with the ``signing_keys`` of the
profile named in our ``UCP-Agent`` header, negotiate capabilities against it,
and deliver order webhooks to the ``webhook_url`` of its
``dev.ucp.shopping.order`` capability (overview.md "Platform Profile",
order.md "Webhook URL Configuration").

Assumption: the webhook route carries the merchant id
(``/webhooks/merchants/{merchant_id}``), so the connector advertises a
*per-merchant* profile URL, ``/.well-known/ucp?merchant={id}``, whose only
difference is that URL. Platform profile URLs are not path-constrained
(signatures.md "Parsing Rules"), and the document stays stable per merchant,
as the caching rules expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from contracts import KeyStore, UcpError
from contracts.error_codes import UCP_VERSION
from core.settings import Settings
from merchants.profiles import ProfileCache

SPEC = f"https://ucp.dev/{UCP_VERSION}/specification"
SCHEMAS = f"https://ucp.dev/{UCP_VERSION}/schemas/shopping"

# What the connector can drive end to end; negotiation intersects this with each merchant.
SUPPORTED_CAPABILITIES: dict[str, dict[str, Any]] = {
    "dev.ucp.shopping.checkout": {"spec": f"{SPEC}/checkout", "schema": f"{SCHEMAS}/checkout.json"},
    "dev.ucp.shopping.fulfillment": {
        "spec": f"{SPEC}/fulfillment",
        "schema": f"{SCHEMAS}/fulfillment.json",
        "extends": "dev.ucp.shopping.checkout",
    },
    "dev.ucp.shopping.discount": {
        "spec": f"{SPEC}/discount",
        "schema": f"{SCHEMAS}/discount.json",
        "extends": "dev.ucp.shopping.checkout",
    },
    "dev.ucp.shopping.order": {"spec": f"{SPEC}/order", "schema": f"{SCHEMAS}/order.json"},
    # buyer-consent.md: the platform may pass the buyer's consent (buyer.consent) where the business offers it.
    "dev.ucp.shopping.buyer_consent": {
        "spec": f"{SPEC}/buyer-consent",
        "schema": f"{SCHEMAS}/buyer_consent.json",
        "extends": "dev.ucp.shopping.checkout",
    },
}


AP2_CAPABILITY: dict[str, dict[str, Any]] = {
    "dev.ucp.shopping.ap2_mandate": {
        "spec": f"{SPEC}/ap2-mandates",
        "schema": f"{SCHEMAS}/ap2_mandate.json",
        "extends": "dev.ucp.shopping.checkout",
    }
}


def profile_url(public_base_url: str, merchant_id: str | None = None) -> str:
    base = public_base_url.rstrip("/") + "/.well-known/ucp"
    return base if merchant_id is None else f"{base}?merchant={quote(merchant_id, safe='')}"


def webhook_url(public_base_url: str, merchant_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/webhooks/merchants/{quote(merchant_id, safe='')}"


def platform_profile(
    public_base_url: str,
    keys: KeyStore,
    merchant_id: str | None = None,
    payment_handlers: dict[str, list[dict[str, Any]]] | None = None,
    ap2_mandates: bool = False,
    vendor_capabilities: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The profile merchants read; ``payment_handlers`` are the platforms' (Settings.payment_handlers_for).

    ``ap2_mandates`` (Settings.ap2_mandates) declares AP2 Mandates: a business that offers it then signs every
    checkout (verified by merchants.responses) and requires ``ap2.checkout_mandate`` on complete, which the
    platforms must then send. ``vendor_capabilities`` (MerchantSettings.vendor_capabilities) are the vendor
    extensions the operator declared for this merchant; the generic profile (no merchant) has none.
    """
    capabilities: dict[str, list[dict[str, Any]]] = {}
    vendor = dict(vendor_capabilities or {}) if merchant_id is not None else {}
    supported = {**SUPPORTED_CAPABILITIES, **(AP2_CAPABILITY if ap2_mandates else {}), **vendor}
    for name, entry in supported.items():
        capability: dict[str, Any] = {"version": UCP_VERSION, **entry}
        if name == "dev.ucp.shopping.order" and merchant_id is not None:
            capability["config"] = {"webhook_url": webhook_url(public_base_url, merchant_id)}
        capabilities[name] = [capability]
    return {
        "ucp": {
            "version": UCP_VERSION,
            "services": {
                "dev.ucp.shopping": [
                    {
                        "version": UCP_VERSION,
                        "spec": f"{SPEC}/overview",
                        "transport": "rest",
                        "schema": f"https://ucp.dev/{UCP_VERSION}/services/shopping/rest.openapi.json",
                        "endpoint": public_base_url.rstrip("/"),
                    }
                ]
            },
            "capabilities": capabilities,
            # The connector holds no payment handler of its own: it declares its platforms' handlers, so a
            # business that intersects handlers (payment-handler-guide.md "Resolving available_instruments")
            # offers them.
            "payment_handlers": dict(payment_handlers or {}),
        },
        "signing_keys": keys.jwks.signing_keys(),
    }


def profile_declared_to(settings: Settings, keys: KeyStore, merchant_id: str | None) -> dict[str, Any]:
    """Our profile as ``settings`` declare it to ``merchant_id`` (the generic one for ``None``).

    One place for what the API (request validation, the profile route) and the worker (discovery, recorded
    in the session's audit) both declare, so the two never negotiate different capabilities: the platforms'
    payment handlers, AP2 Mandates, and the vendor extensions the operator declared for this merchant.
    """
    merchant = settings.merchants.get(merchant_id) if merchant_id is not None else None
    return platform_profile(
        settings.public_base_url,
        keys,
        merchant_id,
        settings.payment_handlers_for(merchant_id),
        settings.ap2_mandates,
        merchant.vendor_capabilities() if merchant is not None else None,
    )


async def platform_profile_for_merchant(
    profiles: ProfileCache,
    public_base_url: str,
    keys: KeyStore,
    merchant_id: str,
    payment_handlers: dict[str, list[dict[str, Any]]] | None = None,
    ap2_mandates: bool = False,
    vendor_capabilities: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Our profile as *this* merchant reads it: in the release the connector speaks with it (issue 15).

    A 2026-01-11 merchant parses a list of capabilities and ``payment.handlers``,
    a 2026-08-25 one ``keys[]``; the URL stays the same per merchant, so what it
    fetched and cached stays valid. When the merchant's own profile cannot be
    read right now, the canonical release's shape is served.
    """
    canonical = platform_profile(
        public_base_url, keys, merchant_id, payment_handlers, ap2_mandates, vendor_capabilities
    )
    try:
        entry = await profiles.get(merchant_id)
    except UcpError:
        return canonical
    return entry.adapter.platform_profile(canonical)
