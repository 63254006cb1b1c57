"""Rules of workflows/lifecycle.py that mutation testing showed untested (docs/spec-coverage.md "Mutation testing").

Each test pins a behaviour a surviving mutant changed without a unit test
noticing: an allowed currency passing the spend policy, the refusal detail a
platform reads, the safety checks before complete (CMP-06, PAY-04), the views
while a complete runs (issue 11.5) and the boundaries of polling and of the
idempotency window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts import ErrorCode, UcpError
from tests.fixtures.connector_stack import request
from workflows import lifecycle
from workflows.types import IdempotencyRecord, Operation, PolicySnapshot, SessionStart, SessionState

AT = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
ADDS_UP = [{"type": "subtotal", "amount": 1000}, {"type": "tax", "amount": 80}, {"type": "total", "amount": 1080}]


def _checkout(status: str = "ready_for_complete", **extra: Any) -> dict[str, Any]:
    return {"id": "chk_1", "status": status, "currency": "EUR", "totals": ADDS_UP, **extra}


def _state(status: str | None = "ready_for_complete", **fields: Any) -> SessionState:
    checkout = _checkout(status) if status else None
    return SessionState.model_validate(
        {"created": True, "created_at": AT, "status": status, "checkout": checkout, **fields}
    )


def test_an_allowed_currency_passes_the_spend_policy_and_a_refusal_names_what_failed() -> None:
    """DESIGN "Policy" (enforced in the complete validator): the checkout's own currency is read, an allowed one
    passes, a refused one names reason and currency, and an over-limit total names total and limit."""
    checkout = _checkout()
    assert lifecycle.policy_error(PolicySnapshot(allowed_currencies=["EUR"]), checkout) is None
    refused = lifecycle.policy_error(PolicySnapshot(allowed_currencies=["USD"]), checkout)
    assert refused is not None and refused.code is ErrorCode.POLICY_DENIED
    assert refused.detail == {"reason": "currency", "currency": "EUR"} and "EUR" in refused.content
    over = lifecycle.policy_error(PolicySnapshot(max_total=1000), checkout)
    assert over is not None and over.detail == {"reason": "max_total", "total": 1080, "max_total": 1000}
    assert "1080" in over.content and "1000" in over.content
    assert lifecycle.policy_error(PolicySnapshot(max_total=1080), checkout) is None


def test_refusal_applies_the_transition_rule_then_the_policy_on_complete_only() -> None:
    """CMP-01 (complete only from ready_for_complete), DESIGN "Policy": the spend policy stops a complete, never an
    update; a complete in a status that forbids it is refused for the transition first."""
    policy = PolicySnapshot(allowed_currencies=["USD"])
    denied = lifecycle.refusal(Operation.COMPLETE, _state(), policy)
    assert denied is not None and denied.code is ErrorCode.POLICY_DENIED
    assert lifecycle.refusal(Operation.UPDATE, _state(), policy) is None
    assert lifecycle.refusal(Operation.COMPLETE, _state(), PolicySnapshot()) is None
    early = lifecycle.refusal(Operation.COMPLETE, _state("incomplete"), policy)
    assert early is not None and early.code is ErrorCode.TRANSITION_INVALID
    missing = lifecycle.transition_error(Operation.UPDATE, None)
    assert missing is not None and missing.code is ErrorCode.NOT_FOUND and missing.content
    wrong = lifecycle.transition_error(Operation.CANCEL, "completed")
    assert wrong is not None and "cancel" in wrong.content and "completed" in wrong.content


def test_the_safety_checks_run_on_complete_only_against_the_admitted_checkout() -> None:
    """CMP-06 (totals add up before an autonomous complete), PAY-04: ``safety_refusal`` refuses a complete of a
    checkout whose totals do not add up, and leaves other operations and a sound checkout alone."""
    skewed = _state(checkout=_checkout(totals=[*ADDS_UP[:2], {"type": "total", "amount": 5}]))
    error = lifecycle.safety_refusal(Operation.COMPLETE, skewed, {"payment": {"instruments": []}})
    assert error is not None and error.code is ErrorCode.TOTALS_INCONSISTENT
    assert lifecycle.safety_refusal(Operation.UPDATE, skewed, None) is None
    assert lifecycle.safety_refusal(Operation.COMPLETE, _state(None), None) is None
    assert lifecycle.safety_refusal(Operation.COMPLETE, _state(), {"payment": {"instruments": []}}) is None


def test_the_safety_checks_judge_the_instruments_of_the_complete_request() -> None:
    """PAY-04 (an instrument must be one the checkout's payment_handlers offer): the complete's own body is what is
    checked, so an instrument of a handler the checkout does not offer is refused at its pointer."""
    handlers = {"com.example.tokenizer": [{"id": "ref_tokenizer", "version": "2026-04-08"}]}
    state = _state(checkout=_checkout(ucp={"payment_handlers": handlers}))
    offered = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "ref_tokenizer", "type": "card"}]}}
    assert lifecycle.safety_refusal(Operation.COMPLETE, state, offered) is None
    foreign = {"payment": {"instruments": [{"id": "pi_1", "handler_id": "elsewhere", "type": "card"}]}}
    error = lifecycle.safety_refusal(Operation.COMPLETE, state, foreign)
    assert error is not None and error.code is ErrorCode.PAYMENT_INSTRUMENT_NOT_OFFERED
    assert error.pointer == "/payment/instruments/0/handler_id"


def test_a_reused_key_names_the_operation_it_was_first_used_for() -> None:
    """IDM-07: the refusal of a key reused with a different request says which operation it belongs to."""
    sent = request({"a": 1}, "key-1")
    used = _state(idempotency={"key-1": IdempotencyRecord(operation=Operation.UPDATE, digest="other")})
    error = lifecycle.request_error(Operation.UPDATE, sent, "shop", used)
    assert error is not None and error.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert error.detail == {"operation": "update"} and "Idempotency-Key" in error.content
    twice = lifecycle.request_error(Operation.CREATE, sent, "shop", _state())
    assert twice is not None and twice.content
    elsewhere = lifecycle.request_error(
        Operation.UPDATE, sent.model_copy(update={"merchant_id": "x"}), "shop", _state()
    )
    assert elsewhere is not None and elsewhere.content == "no such checkout session"


def test_the_presented_checkout_is_a_copy_with_the_connectors_id() -> None:
    """Invariant 3: the platform sees the connector's session id; the merchant's checkout in state is untouched,
    down to nested members."""
    checkout = _checkout(buyer={"email": "jane@example.com"})
    presented = lifecycle.presented_checkout(checkout, "cs_1")
    presented["buyer"]["email"] = "changed"
    assert presented["id"] == "cs_1" and checkout["id"] == "chk_1"
    assert checkout["buyer"]["email"] == "jane@example.com"


def test_polling_backs_off_from_one_second_and_stops_growing_at_the_cap() -> None:
    """CMP-03 (poll until the outcome is known): 1 s doubling, capped at a minute, also past the exponent cap."""
    assert lifecycle.poll_backoff(0) == dt.timedelta(seconds=1)
    assert lifecycle.poll_backoff(5) == dt.timedelta(seconds=32)
    assert lifecycle.poll_backoff(10) == lifecycle.poll_backoff(50) == lifecycle.POLL_MAX


def test_the_idempotency_window_closes_exactly_at_its_end() -> None:
    """Invariant 2 (keys honoured for 48 h after the terminal status): closed at the end instant, open before."""
    done = _state("completed", closed_at=AT)
    end = AT + lifecycle.IDEMPOTENCY_WINDOW
    assert lifecycle.window_closed(done, end)
    assert not lifecycle.window_closed(done, end - dt.timedelta(microseconds=1))
    assert not lifecycle.window_closed(_state(), end + dt.timedelta(days=9))


def _start() -> SessionStart:
    return SessionStart(platform_id="alpha", session_id="cs_1", merchant_id="shop")


def test_while_a_complete_runs_the_view_says_complete_in_progress_and_never_a_terminal_one() -> None:
    """Issue 11.5 (status never goes backwards; a GET says what the bounded wait said): a complete whose record has
    no result yet shows complete_in_progress, in the status and the checkout; a finished session shows itself."""
    running = {"k": IdempotencyRecord(operation=Operation.COMPLETE, digest="d")}
    view = lifecycle.session_view(_start(), _state(idempotency=running), [])
    assert view.status == "complete_in_progress" and view.checkout is not None
    assert view.checkout["status"] == "complete_in_progress" and view.checkout["id"] == "cs_1"
    idle = lifecycle.session_view(_start(), _state(), ["notify"])
    assert idle.status == "ready_for_complete" and idle.pending_actions == ["platform_may_complete", "notify"]
    closed = AT + dt.timedelta(hours=1)
    finished = lifecycle.session_view(
        _start(),
        _state(
            "completed",
            idempotency=running,
            merchant_checkout_id="chk_1",
            merchant={
                "merchant_id": "shop",
                "profile_url": "https://shop.example/.well-known/ucp",
                "endpoint": "https://shop.example/ucp",
                "version": "2026-04-08",
                "capabilities": {},
            },
            order={"id": "ord_1"},
            closed_at=closed,
            closed_reason="done",
        ),
        [],
    )
    assert finished.status == "completed" and finished.merchant_checkout_id == "chk_1"
    assert finished.merchant_version == "2026-04-08" and finished.order == {"id": "ord_1"}
    assert finished.closed_at == closed and finished.closed_reason == "done"
    assert idle.checkout is not None and idle.checkout["id"] == "cs_1" and idle.merchant_version is None
    updating = {"k": IdempotencyRecord(operation=Operation.UPDATE, digest="d")}
    assert not lifecycle.complete_running(_state(idempotency=updating))


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        ("requires_escalation", {}, ["buyer_handoff_via_continue_url"]),
        ("complete_in_progress", {}, ["polling_merchant_for_outcome"]),
        ("ready_for_complete", {"reconcile": True}, ["polling_merchant_for_outcome", "platform_may_complete"]),
        ("incomplete", {}, []),
    ],
)
def test_pending_actions_say_what_the_session_waits_for(
    status: str, fields: dict[str, Any], expected: list[str]
) -> None:
    """CMP-05 (the buyer's hand-off), CMP-03 (polling for an outcome): what an operator and the GET read-through see."""
    assert lifecycle.pending_actions(_state(status, **fields)) == expected


def test_a_merchant_404_means_forgotten_and_the_order_id_comes_from_the_order_first() -> None:
    """CHK-16/17 (an expired session may be forgotten: 404 is canceled), ORD-18 (the order identifies the checkout)."""
    forgot = UcpError("gone", code=ErrorCode.MERCHANT_REQUEST_REJECTED, detail={"http_status": 404})
    other = UcpError("no", code=ErrorCode.MERCHANT_REQUEST_REJECTED, detail={"http_status": 400})
    assert lifecycle.merchant_forgot(forgot) and not lifecycle.merchant_forgot(other)
    assert not lifecycle.merchant_forgot(UcpError("x", code=ErrorCode.NOT_FOUND, detail={"http_status": 404}))
    with_both = _state("completed", order={"id": "ord_webhook"}, checkout=_checkout("completed", order={"id": "o"}))
    assert lifecycle.order_id(with_both) == "ord_webhook"
    assert lifecycle.order_id(_state("completed", checkout=_checkout("completed", order={"id": "o"}))) == "o"
    assert lifecycle.order_id(_state()) is None


def test_an_order_without_currency_takes_its_checkouts() -> None:
    """ORD-06 (the full order entity, currency included): a 2026-01-11 order takes the checkout's; others are kept."""
    assert lifecycle.order_with_currency({"id": "o"}, _checkout())["currency"] == "EUR"
    assert lifecycle.order_with_currency({"id": "o", "currency": "USD"}, _checkout())["currency"] == "USD"
    assert "currency" not in lifecycle.order_with_currency({"id": "o"}, None)
