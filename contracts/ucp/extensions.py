"""Which request members belong to which extension, and whether the merchant negotiated it.

UCP extensions add members to the checkout (overview.md "Schema
Composition"): a platform may send an extension's members only when the
extension is in the negotiated intersection (OVR-23/24), and a member of a
negotiated extension is part of the request, not an unknown field. The
connector's base request models are strict (unknown members are refused);
this module decides, per request, before they run:

* a member of an extension the merchant did **not** negotiate is refused with
  ``400 extension_not_negotiated`` and a pointer to it (sending it would ask
  the merchant for something it never agreed to);
* a member of a negotiated extension that the base models do not describe
  (``ap2`` of AP2 Mandates) is taken out of the strict check and forwarded as
  sent, after the check of its own shape (``ap2.checkout_mandate`` a string).

Members per extension (2026-04-08 extension schemas): fulfillment ->
``fulfillment``; discount -> ``discounts``; AP2 Mandates -> ``ap2``; buyer
consent -> ``buyer.consent`` (buyer-consent.md; its purposes are booleans).

Vendor extensions (``com.example.loyalty`` extending checkout, overview.md
"Extensions can be ... Vendor") are declared per merchant by the operator
(``MerchantSettings.vendor_extensions``), with the top-level checkout members
their schema adds: the spec has the platform read them from the extension's
``schema`` URL, which the connector will not fetch at request time (an
arbitrary vendor origin on the request path). The ``vendor`` mapping (member ->
extension) of the functions below is that declaration; a vendor member is
refused like an official one when its extension is not negotiated and, when
it is, is forwarded as sent (its shape is the merchant's to judge). A member
no declaration names stays an unknown field for the strict models.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from types import MappingProxyType
from typing import Any, Final

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.ucp.checkout import Checkout
from contracts.ucp.checkout_requests import (
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)

FULFILLMENT: Final = "dev.ucp.shopping.fulfillment"
DISCOUNT: Final = "dev.ucp.shopping.discount"
AP2_MANDATE: Final = "dev.ucp.shopping.ap2_mandate"
BUYER_CONSENT: Final = "dev.ucp.shopping.buyer_consent"
CONSENT_PURPOSES: Final = ("analytics", "preferences", "marketing", "sale_of_data")  # buyer_consent.json

# Top-level request member -> the extension that defines it.
MEMBER_EXTENSION: Final[Mapping[str, str]] = {"fulfillment": FULFILLMENT, "discounts": DISCOUNT, "ap2": AP2_MANDATE}
# Members an extension adds inside a base object: (object, member) -> extension.
NESTED_EXTENSION: Final[Mapping[tuple[str, str], str]] = {("buyer", "consent"): BUYER_CONSENT}
# Members the base (strict) request models do not describe: forwarded as sent when negotiated.
OUTSIDE_BASE_MODELS: Final = frozenset({"ap2"})
NO_VENDOR: Final[Mapping[str, str]] = MappingProxyType({})


def extension_members(document: Mapping[str, Any], vendor: Mapping[str, str] = NO_VENDOR) -> list[str]:
    """The extension members present in a request body (JSON pointers), in a stable order.

    ``vendor``: the top-level members of the merchant's declared vendor extensions (member -> extension).
    """
    members = [f"/{member}" for member in MEMBER_EXTENSION if member in document]
    members += [f"/{member}" for member in sorted(vendor) if member in document and member not in MEMBER_EXTENSION]
    for (parent, member), _ in NESTED_EXTENSION.items():
        node = document.get(parent)
        if isinstance(node, Mapping) and member in node:
            members.append(f"/{parent}/{member}")
    return members


def _extension_at(pointer: str, vendor: Mapping[str, str]) -> str:
    parts = tuple(pointer.strip("/").split("/"))
    if len(parts) > 1:
        return NESTED_EXTENSION[(parts[0], parts[1])]
    return MEMBER_EXTENSION.get(parts[0]) or vendor[parts[0]]


def not_negotiated_error(
    document: Mapping[str, Any], negotiated: Set[str], vendor: Mapping[str, str] = NO_VENDOR
) -> UcpError | None:
    """The first member of an extension the merchant did not negotiate, as a refusal with its pointer (OVR-23/24)."""
    for member in extension_members(document, vendor):
        extension = _extension_at(member, vendor)
        if extension not in negotiated:
            return UcpError(
                f"{member} belongs to {extension}, which this merchant did not negotiate",
                code=ErrorCode.EXTENSION_NOT_NEGOTIATED,
                pointer=member,
                detail={"extension": extension},
            )
    return None


def ap2_shape_error(document: Mapping[str, Any]) -> UcpError | None:
    """``ap2`` on a request carries the platform's checkout mandate (ap2_mandate.json ``ap2_with_checkout_mandate``)."""
    ap2 = document.get("ap2")
    if ap2 is None:
        return None
    mandate = ap2.get("checkout_mandate") if isinstance(ap2, Mapping) else None
    if not isinstance(mandate, str) or not mandate or (isinstance(ap2, Mapping) and set(ap2) - {"checkout_mandate"}):
        return UcpError(
            'ap2 must be {"checkout_mandate": <SD-JWT>}',
            code=ErrorCode.VALIDATION_FAILED,
            pointer="/ap2/checkout_mandate",
            detail={"reason": "invalid"},
        )
    return None


def consent_shape_error(document: Mapping[str, Any]) -> UcpError | None:
    """``buyer.consent`` is an object whose purposes are booleans (buyer_consent.json ``consent``)."""
    buyer = document.get("buyer")
    consent = buyer.get("consent") if isinstance(buyer, Mapping) else None
    if consent is None:
        return None
    bad = [key for key in CONSENT_PURPOSES if isinstance(consent, Mapping) and key in consent]
    bad = [key for key in bad if not isinstance(consent[key], bool)]
    if not isinstance(consent, Mapping) or bad:
        return UcpError(
            "buyer.consent must be an object of booleans (analytics, preferences, marketing, sale_of_data)",
            code=ErrorCode.VALIDATION_FAILED,
            pointer="/buyer/consent" + (f"/{bad[0]}" if bad else ""),
            detail={"reason": "invalid"},
        )
    return None


def base_members(document: Mapping[str, Any], vendor: Mapping[str, str] = NO_VENDOR) -> dict[str, Any]:
    """The document the strict base models check: without negotiated members they do not describe.

    Called after :func:`not_negotiated_error` passed, so every vendor member left is a negotiated one.
    """
    return {key: value for key, value in document.items() if key not in OUTSIDE_BASE_MODELS and key not in vendor}


def reserved_members() -> frozenset[str]:
    """Top-level members a vendor extension may not claim: the base checkout's and the official extensions'.

    A vendor member is taken out of the strict check, so claiming ``payment`` would let an unchecked
    payment through; the configuration refuses such a declaration (core.merchant_settings).
    """
    names = set(MEMBER_EXTENSION) | {parent for parent, _ in NESTED_EXTENSION} | OUTSIDE_BASE_MODELS
    for model in (Checkout, CheckoutCreateRequest, CheckoutUpdateRequest, CheckoutCompleteRequest):
        names |= {field.alias or name for name, field in model.model_fields.items()}
    return frozenset(names | {"messages", "continue_url", "expires_at", "order", "ucp", "id", "status"})
