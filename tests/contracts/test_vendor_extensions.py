"""Vendor extension members: declared per merchant, refused unless negotiated, forwarded when negotiated (issue 11.3).

The declaration (core.vendor_extensions) names the checkout members a vendor
extension adds, since the connector does not fetch the extension's schema at
request time; contracts.ucp.extensions then treats them like an official
extension's members.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts import KeyStore, SigningKey
from contracts.ucp import CheckoutCreateRequest, parse_model
from contracts.ucp.extensions import DISCOUNT, base_members, extension_members, not_negotiated_error
from core.merchant_settings import MerchantSettings
from merchants.platform_profile import platform_profile

LOYALTY = "com.example.loyalty"
VENDOR = {"loyalty": LOYALTY}
ENTRY: dict[str, Any] = {
    "version": "2026-04-08",
    "spec": "https://example.com/ucp/specification/loyalty",
    "schema": "https://example.com/ucp/schemas/loyalty.json",
    "members": ["loyalty"],
}
BODY: dict[str, Any] = {"line_items": [{"item": {"id": "x"}, "quantity": 1}], "loyalty": {"member_id": "lm_1"}}


def _merchant(**extensions: Any) -> MerchantSettings:
    return MerchantSettings(profile_url="https://shop.example.com/.well-known/ucp", vendor_extensions=extensions)


def test_a_declared_vendor_member_is_an_extension_member() -> None:
    """OVR-23/24: ``loyalty`` counts as an extension member only where a vendor extension declares it."""
    assert extension_members(BODY) == []
    assert extension_members(BODY, VENDOR) == ["/loyalty"]
    assert extension_members({**BODY, "discounts": {}}, VENDOR) == ["/discounts", "/loyalty"]


def test_a_vendor_member_of_an_extension_not_negotiated_is_refused_with_its_pointer() -> None:
    """OVR-23/24: the merchant did not negotiate com.example.loyalty, so ``/loyalty`` is refused, naming it."""
    error = not_negotiated_error(BODY, {DISCOUNT}, VENDOR)
    assert error is not None and error.code.value == "extension_not_negotiated"
    assert error.pointer == "/loyalty" and error.detail == {"extension": LOYALTY}


def test_a_negotiated_vendor_member_leaves_the_strict_check_and_stays_in_the_body() -> None:
    """OVR-51 / issue 11.3: negotiated, the member is not judged by the base models and is forwarded as sent."""
    assert not_negotiated_error(BODY, {LOYALTY}, VENDOR) is None
    checked = base_members(BODY, VENDOR)
    assert "loyalty" not in checked and "line_items" in checked
    parse_model(CheckoutCreateRequest, checked)
    assert BODY["loyalty"] == {"member_id": "lm_1"}


def test_a_member_no_declaration_names_is_still_unknown_to_the_strict_models() -> None:
    """Without a declaration the strict base models refuse ``loyalty`` (an unknown member), as before."""
    assert base_members(BODY) == BODY
    with pytest.raises(Exception, match="loyalty"):
        parse_model(CheckoutCreateRequest, base_members(BODY))


def test_the_declaration_maps_members_and_the_profile_entry() -> None:
    """OVR-03: the declared entry carries version, spec, schema and extends, as the profile needs."""
    merchant = _merchant(**{LOYALTY: ENTRY})
    assert merchant.vendor_members() == VENDOR
    entry = merchant.vendor_capabilities()[LOYALTY]
    assert entry == {
        "version": "2026-04-08",
        "spec": ENTRY["spec"],
        "schema": ENTRY["schema"],
        "extends": "dev.ucp.shopping.checkout",
    }


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("dev.ucp.shopping.loyalty", {}, "reserved"),  # OVR-07
        ("loyalty", {}, "reverse-domain"),  # OVR-02
        (LOYALTY, {"spec": "https://evil.example.net/loyalty"}, "spec must be https on example.com"),  # OVR-04
        (LOYALTY, {"schema": "http://example.com/loyalty.json"}, "schema must be https on example.com"),  # OVR-04
        (LOYALTY, {"members": ["payment"]}, "base checkout"),
        (LOYALTY, {"members": ["ap2"]}, "base checkout"),
        (LOYALTY, {"members": []}, "at least 1"),
        (LOYALTY, {"members": ["Loyalty-Points"]}, "pattern"),
        (LOYALTY, {"extends": "dev.ucp.shopping.cart"}, "must extend dev.ucp.shopping.checkout"),
    ],
)
def test_a_bad_declaration_is_a_configuration_error(name: str, change: dict[str, Any], reason: str) -> None:
    """OVR-02/04/07, and the safety rule: a vendor member skips the strict check, so it may not be a base member."""
    with pytest.raises(ValidationError, match=reason):
        _merchant(**{name: {**ENTRY, **change}})


def test_two_extensions_may_not_claim_one_member() -> None:
    """Which extension a member belongs to decides the refusal, so a member has one owner."""
    other = {**ENTRY, "spec": "https://example.com/ucp/points", "schema": "https://example.com/ucp/points.json"}
    with pytest.raises(ValidationError, match="claimed by two"):
        _merchant(**{LOYALTY: ENTRY, "com.example.points": other})


def test_the_per_merchant_platform_profile_declares_the_vendor_extension_and_the_generic_one_does_not() -> None:
    """OVR-23: the connector declares the vendor extension to the merchant it was declared for only."""
    keys = KeyStore(SigningKey.generate())
    vendor = _merchant(**{LOYALTY: ENTRY}).vendor_capabilities()
    mine = platform_profile("https://connector.example", keys, "shop", None, False, vendor)
    assert mine["ucp"]["capabilities"][LOYALTY] == [vendor[LOYALTY]]
    generic = platform_profile("https://connector.example", keys, None, None, False, vendor)
    assert LOYALTY not in generic["ucp"]["capabilities"]
