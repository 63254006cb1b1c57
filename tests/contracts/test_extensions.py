"""Extension members per negotiation (contracts.ucp.extensions), as the API applies them before the strict models.

The end-to-end proofs (not negotiated -> refused at the API, negotiated discount
-> applied by the merchant) are in tests/e2e/test_extensions.py; these pin the
negotiated-AP2 pass-through, which the reference merchant cannot play (it does
not offer AP2 Mandates).
"""

from __future__ import annotations

import pytest

from contracts import ErrorCode, UcpError
from contracts.ucp import CheckoutCompleteRequest, parse_model
from contracts.ucp.extensions import AP2_MANDATE, DISCOUNT, ap2_shape_error, base_members, not_negotiated_error
from tests.fixtures.bodies import payment_body

MANDATE = {"checkout_mandate": "eyJhbGciOiJFUzI1NiJ9.eyJjaGVja291dCI6e319.c2ln~a2I"}


def test_a_negotiated_ap2_mandate_passes_the_strict_complete_model_and_is_kept() -> None:
    """ap2-mandates.md: the mandate is carried on complete; the strict model checks everything else."""
    body = {**payment_body(), "ap2": MANDATE}
    with pytest.raises(UcpError):  # what the old code did with every ap2 member: an unknown field
        parse_model(CheckoutCompleteRequest, body)
    assert not_negotiated_error(body, {AP2_MANDATE}) is None and ap2_shape_error(body) is None
    parse_model(CheckoutCompleteRequest, base_members(body))
    assert body["ap2"] == MANDATE  # forwarded as sent


def test_members_of_extensions_not_negotiated_are_refused_with_their_pointer() -> None:
    body = {**payment_body(), "ap2": MANDATE, "discounts": {"codes": ["SAVE10"]}}
    error = not_negotiated_error(body, {DISCOUNT})
    assert error is not None and error.code is ErrorCode.EXTENSION_NOT_NEGOTIATED and error.pointer == "/ap2"
    error = not_negotiated_error(body, {AP2_MANDATE})
    assert error is not None and error.pointer == "/discounts"


@pytest.mark.parametrize("ap2", ["x", {}, {"checkout_mandate": 1}, {**MANDATE, "merchant_authorization": "x"}])
def test_an_ap2_member_must_carry_just_a_checkout_mandate(ap2: object) -> None:
    error = ap2_shape_error({"ap2": ap2})
    assert error is not None and error.pointer == "/ap2/checkout_mandate"
