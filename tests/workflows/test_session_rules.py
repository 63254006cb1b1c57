"""The session rules the workflow applies to its ``SessionState``: admission, polling, expiry, the 48 h window.

Pure functions in workflows/lifecycle.py (DESIGN invariants 2-4, CHK-16, CMP-03, IDM-07, ORD-18).
"""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import ErrorCode, UcpError
from tests.fixtures.connector_stack import request
from workflows import lifecycle
from workflows.types import IdempotencyRecord, Operation, SessionState, StatusChange

AT = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _state(status: str | None = "incomplete", **fields: object) -> SessionState:
    checkout = {"id": "chk_1", "status": status} if status else None
    return SessionState.model_validate(
        {"created": True, "created_at": AT, "status": status, "checkout": checkout, **fields}
    )


def test_requests_that_name_no_session_they_may_act_on() -> None:
    """Invariant 3 (another merchant's session is not found), IDM-07 (a key is one request), create once."""
    body = request({"a": 1}, "key-1")
    used = _state(idempotency={"key-1": IdempotencyRecord(operation=Operation.UPDATE, digest=body.body_digest)})
    at_other_merchant = body.model_copy(update={"merchant_id": "elsewhere"})
    cases = [
        (Operation.UPDATE, at_other_merchant, _state(), ErrorCode.NOT_FOUND),
        (Operation.COMPLETE, body, used, ErrorCode.IDEMPOTENCY_KEY_REUSED),
        (Operation.UPDATE, request({"a": 2}, "key-1"), used, ErrorCode.IDEMPOTENCY_KEY_REUSED),
        (Operation.CREATE, body, _state(), ErrorCode.TRANSITION_INVALID),
        (Operation.UPDATE, body, _state(None, created=False), ErrorCode.NOT_FOUND),
    ]
    for operation, sent, state, code in cases:
        error = lifecycle.request_error(operation, sent, "shop", state)
        assert error is not None and error.code is code, (operation, code)
    assert lifecycle.request_error(Operation.UPDATE, body, "shop", used) is None  # a replay, answered from its record
    assert lifecycle.request_error(Operation.CREATE, body, "shop", _state(None, created=False)) is None


def test_polling_backs_off_to_a_minute() -> None:
    """CMP-03: 1 s, 2 s, 4 s ... capped at 60 s, however many polls failed."""
    assert [lifecycle.poll_backoff(n).total_seconds() for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert lifecycle.poll_backoff(10_000) == dt.timedelta(minutes=1)


def test_an_unknown_complete_outcome_keeps_the_session_polling() -> None:
    """Invariant 4: only a complete that may have placed the order is reconciled by polling."""
    unavailable = UcpError("down", code=ErrorCode.MERCHANT_UNAVAILABLE)
    rejected = UcpError("no", code=ErrorCode.MERCHANT_REQUEST_REJECTED, detail={"http_status": 400})
    assert lifecycle.outcome_unknown(Operation.COMPLETE, unavailable)
    assert not lifecycle.outcome_unknown(Operation.COMPLETE, rejected)
    assert not lifecycle.outcome_unknown(Operation.UPDATE, unavailable)
    assert lifecycle.awaiting_outcome(_state("ready_for_complete", reconcile=True))
    assert lifecycle.awaiting_outcome(_state("complete_in_progress"))
    assert not lifecycle.awaiting_outcome(_state("ready_for_complete"))


def test_expiry_is_checked_at_expires_at_then_once_a_minute() -> None:
    """CHK-16: at the merchant's expires_at, else 6 h after the last status change; re-checks a minute apart."""
    expiring = _state(checkout={"id": "chk_1", "status": "incomplete", "expires_at": "2026-11-28T13:00:00Z"})
    assert lifecycle.expiry_check_due(expiring) == AT + dt.timedelta(hours=1)
    changed = _state(status_history=[StatusChange(status="incomplete", at=AT + dt.timedelta(hours=2), cause="create")])
    assert lifecycle.expiry_check_due(changed) == AT + dt.timedelta(hours=8)
    checked = expiring.model_copy(update={"last_expiry_check": AT + dt.timedelta(hours=3)})
    assert lifecycle.expiry_check_due(checked) == AT + dt.timedelta(hours=3, minutes=1)


@pytest.mark.parametrize(
    ("status", "closed_at", "end"),
    [
        ("incomplete", None, None),
        ("complete_in_progress", None, None),
        ("completed", AT + dt.timedelta(hours=5), AT + dt.timedelta(hours=53)),
        (None, None, AT + dt.timedelta(hours=48)),  # a create the merchant refused: no session, keys still honoured
    ],
)
def test_the_idempotency_window_starts_at_the_terminal_status(
    status: str | None, closed_at: dt.datetime | None, end: dt.datetime | None
) -> None:
    """Invariant 2: replays are answered for 48 h after the session finished."""
    state = _state(status, closed_at=closed_at)
    assert lifecycle.window_end(state) == end
    assert not lifecycle.window_closed(state, AT + dt.timedelta(hours=47))
    assert lifecycle.window_closed(state, AT + dt.timedelta(hours=60)) is (end is not None)


def test_an_order_webhook_completes_only_a_session_waiting_on_the_merchant() -> None:
    """ORD-18: a signed order proves completion of a complete_in_progress (or unknown-outcome) session."""
    order = {"id": "ord_1", "permalink_url": "https://shop.example/o/1", "line_items": []}
    completed = lifecycle.completed_by_order(_state("complete_in_progress"), order)
    assert completed is not None and completed["status"] == "completed"
    assert completed["order"] == {"id": "ord_1", "permalink_url": "https://shop.example/o/1"}
    assert lifecycle.completed_by_order(_state("ready_for_complete", reconcile=True), order) is not None
    assert lifecycle.completed_by_order(_state("ready_for_complete"), order) is None
    assert lifecycle.completed_by_order(_state("completed", reconcile=True), order) is None


def test_a_status_is_reported_only_when_it_changes() -> None:
    state = _state("incomplete")
    assert lifecycle.reported_status(state, {"status": "ready_for_complete"}) == "ready_for_complete"
    assert lifecycle.reported_status(state, {"status": "incomplete"}) is None
    assert lifecycle.reported_status(state, {"status": "no_such_status"}) is None
