"""Payment at complete time: which instrument, which handler, and what the (simulated) processor says.

The merchant advertises one payment handler, ``com.example.tokenizer`` with
id ``ref_tokenizer`` (cards: visa, mastercard). At complete the platform sends
``payment.instruments``; the one with ``selected: true`` (or the only one) is
charged. Its ``credential.token`` picks the processor's answer — a stand-in
for a PSP, so every outcome is reachable with an ordinary UCP request:

==================  ===================================================================================
token starts with   outcome
==================  ===================================================================================
``decline``         ``payment_failed`` (recoverable); the session stays ``ready_for_complete``
``3ds``             ``requires_escalation`` with ``requires_3ds`` and ``continue_url`` (overview.md
                    Scenario B); after the buyer's handoff, completing again succeeds (CMP-05)
``async``           ``complete_in_progress``; the order is placed ``async_completion_seconds`` later
                    (by the background task, or on the next read of the session)
anything else       approved: ``completed`` with the order
==================  ===================================================================================

A missing instrument, an unknown ``handler_id`` (PAY-05) or a missing
credential is answered with the checkout and an error message; nothing is
charged. Credentials are never stored or echoed (PAY-02).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from contracts import ErrorCode as E
from contracts.ucp import Severity
from contracts.ucp.checkout_requests import PaymentInput, PaymentInstrumentInput
from reference_merchant.messages import error

HANDLER_NAME: Final = "com.example.tokenizer"
HANDLER_ID: Final = "ref_tokenizer"


class Decision(StrEnum):
    REFUSED = "refused"
    REQUIRES_3DS = "requires_3ds"
    ASYNC = "async"
    APPROVED = "approved"


@dataclass(frozen=True)
class PaymentOutcome:
    decision: Decision
    message: dict[str, Any] | None = None


def payment_handlers(version: str) -> dict[str, list[dict[str, Any]]]:
    """The handler registry published in the profile and in every checkout response."""
    return {
        HANDLER_NAME: [
            {
                "id": HANDLER_ID,
                "version": version,
                "spec": "https://example.com/ucp/handlers/tokenizer",
                "schema": "https://example.com/ucp/handlers/tokenizer/config.json",
                "available_instruments": [{"type": "card", "constraints": {"brands": ["visa", "mastercard"]}}],
                "config": {"environment": "TEST", "token_url": "https://tokenizer.example.com/v1/tokens"},
            }
        ]
    }


def public_instrument(instrument: PaymentInstrumentInput) -> dict[str, Any]:
    """What may be echoed back: everything but the credential."""
    document = instrument.model_dump(mode="json", exclude_none=True, exclude={"credential"})
    return document


def selected_instrument(payment: PaymentInput) -> tuple[int, PaymentInstrumentInput] | None:
    chosen = [(index, item) for index, item in enumerate(payment.instruments) if item.selected]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen and len(payment.instruments) == 1:
        return 0, payment.instruments[0]
    return None


def charge(payment: PaymentInput) -> PaymentOutcome:
    """Decide the processor's answer for the selected instrument (see the module table)."""
    selected = selected_instrument(payment)
    if selected is None:
        return PaymentOutcome(
            Decision.REFUSED,
            error(E.MISSING, "Select exactly one payment instrument.", Severity.RECOVERABLE, "$.payment.instruments"),
        )
    index, instrument = selected
    path = f"$.payment.instruments[{index}]"
    if instrument.handler_id != HANDLER_ID:
        return PaymentOutcome(
            Decision.REFUSED,
            error(E.PAYMENT_FAILED, "Unknown payment handler.", Severity.RECOVERABLE, f"{path}.handler_id"),
        )
    token = (instrument.credential.model_extra or {}).get("token") if instrument.credential else None
    if instrument.credential is None or not isinstance(token, str) or not token:
        return PaymentOutcome(
            Decision.REFUSED,
            error(E.MISSING, "The instrument has no payment token.", Severity.RECOVERABLE, f"{path}.credential"),
        )
    if token.startswith("decline"):
        return PaymentOutcome(
            Decision.REFUSED, error(E.PAYMENT_FAILED, "The payment was declined.", Severity.RECOVERABLE, path)
        )
    if token.startswith("3ds"):
        return PaymentOutcome(Decision.REQUIRES_3DS)
    if token.startswith("async"):
        return PaymentOutcome(Decision.ASYNC)
    return PaymentOutcome(Decision.APPROVED)
