"""The pure safety checks before complete (CMP-06, PAY-04, card_credential.json), case by case.

The end-to-end proofs are in tests/e2e/test_complete_safety.py; these pin the
edges a merchant can produce: no handlers declared, unrestricted handlers,
unverifiable totals.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import ErrorCode, UcpError
from contracts.ucp import CheckoutCompleteRequest, parse_model
from contracts.ucp.complete_checks import complete_refusal, instrument_error, raw_card_credential_error, totals_error
from tests.fixtures.bodies import checkout_document, payment_body


def _checkout(**overrides: Any) -> dict[str, Any]:
    document = checkout_document()
    document.update(overrides)
    return document


def _handlers(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": "2026-04-08", "payment_handlers": {"com.example.tokenizer": list(entries)}}


def test_consistent_totals_pass_and_a_skewed_total_is_refused() -> None:
    """CMP-06: sum(non-total entries) == total, or no autonomous complete."""
    good = _checkout(
        totals=[{"type": "subtotal", "amount": 1000}, {"type": "tax", "amount": 80}, {"type": "total", "amount": 1080}]
    )
    assert totals_error(good) is None
    bad = _checkout(
        totals=[{"type": "subtotal", "amount": 1000}, {"type": "tax", "amount": 80}, {"type": "total", "amount": 5}]
    )
    error = totals_error(bad)
    assert error is not None and error.code is ErrorCode.TOTALS_INCONSISTENT
    assert error.detail == {"reason": "sum_mismatch", "sum": 1080, "total": 5}


@pytest.mark.parametrize(
    "totals",
    [
        None,
        [],
        [{"type": "subtotal", "amount": 5}],
        [{"type": "subtotal", "amount": 5}, {"type": "total", "amount": "5"}],
        [{"type": "subtotal", "amount": True}, {"type": "total", "amount": 1}],
        [{"type": "total", "amount": 5}, {"type": "total", "amount": 5}],
    ],
)
def test_totals_that_cannot_be_verified_are_refused(totals: Any) -> None:
    """CMP-06: without one integer total the sum cannot be checked, so it is not trusted."""
    error = totals_error(_checkout(totals=totals))
    assert error is not None and error.reason == "unverifiable"


def test_no_declared_handlers_leaves_the_choice_to_the_merchant() -> None:
    """PAY-04 needs a declaration to check against; PAY-05 (unknown handler) is then the merchant's call."""
    assert instrument_error(_checkout(ucp={"version": "2026-04-08"}), payment_body(handler_id="x")) is None


def test_a_handler_without_available_instruments_accepts_any_type() -> None:
    checkout = _checkout(ucp=_handlers({"id": "ref_tokenizer", "version": "2026-04-08"}))
    assert instrument_error(checkout, payment_body()) is None
    assert instrument_error(checkout, payment_body(handler_id="other")) is not None


def test_brand_constraints_apply_only_to_a_declared_brand() -> None:
    """payment-handler-guide.md: MUST NOT use instrument types or constraints that contradict the response."""
    available = [{"type": "card", "constraints": {"brands": ["visa", "mastercard"]}}]
    checkout = _checkout(
        ucp=_handlers({"id": "ref_tokenizer", "version": "2026-04-08", "available_instruments": available})
    )
    assert instrument_error(checkout, payment_body()) is None  # visa
    body = payment_body()
    body["payment"]["instruments"][0]["display"] = {"brand": "AMEX"}
    assert (error := instrument_error(checkout, body)) is not None and error.reason == "brand"
    del body["payment"]["instruments"][0]["display"]
    assert instrument_error(checkout, body) is None


def test_complete_refusal_checks_totals_first() -> None:
    checkout = _checkout(totals=[{"type": "subtotal", "amount": 1}, {"type": "total", "amount": 2}])
    error = complete_refusal(checkout, payment_body(handler_id="other"))
    assert error is not None and error.code is ErrorCode.TOTALS_INCONSISTENT


@pytest.mark.parametrize(
    "credential",
    [
        {"type": "card", "card_number_type": "fpan"},
        {"type": "token", "token": "t", "cvc": "123"},
        {"type": "network", "number": "4242424242424242"},
    ],
)
def test_raw_card_credentials_are_refused(credential: dict[str, Any]) -> None:
    body = payment_body()
    body["payment"]["instruments"][0]["credential"] = credential
    error = raw_card_credential_error(body)
    assert error is not None and error.code is ErrorCode.PAYMENT_CREDENTIAL_FORBIDDEN
    assert error.pointer == "/payment/instruments/0/credential"


def test_signal_keys_must_be_reverse_domain_names() -> None:
    """CHK-48: signals are keyed by reverse-domain names; a bare key is refused with a pointer."""
    body = payment_body()
    parse_model(CheckoutCompleteRequest, body)
    body["signals"] = {"buyer_ip": "203.0.113.42"}
    with pytest.raises(UcpError) as caught:
        parse_model(CheckoutCompleteRequest, body)
    assert caught.value.code is ErrorCode.VALIDATION_FAILED and (caught.value.pointer or "").startswith("/signals")


def test_a_token_credential_passes() -> None:
    assert raw_card_credential_error(payment_body()) is None
    assert raw_card_credential_error(None) is None and raw_card_credential_error({"payment": "x"}) is None
