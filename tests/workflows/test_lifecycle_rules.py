"""The pure lifecycle rules the workflow validators apply (CHK-01, CMP-01, CMP-14; DESIGN "Policy")."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import ErrorCode
from workflows import lifecycle
from workflows.types import Operation, PolicySnapshot, SessionState

ALL = sorted(lifecycle.STATUSES)


@pytest.mark.parametrize("status", ALL)
def test_complete_only_from_ready_for_complete(status: str) -> None:
    """CMP-01: complete is allowed only from ready_for_complete, and admitted in requires_escalation as the
    retry after the buyer's hand-off (CMP-05; the workflow reads the merchant before completing, CHK-03)."""
    error = lifecycle.transition_error(Operation.COMPLETE, status)
    if status in (lifecycle.READY_FOR_COMPLETE, lifecycle.REQUIRES_ESCALATION):
        assert error is None
    else:
        assert error is not None and error.code is ErrorCode.TRANSITION_INVALID
        assert error.detail == {"operation": "complete", "status": status}


@pytest.mark.parametrize("status", ALL)
def test_nothing_but_refresh_after_a_terminal_status(status: str) -> None:
    for operation in (Operation.UPDATE, Operation.CANCEL, Operation.COMPLETE):
        allowed = lifecycle.transition_error(operation, status) is None
        if status in lifecycle.TERMINAL or status == lifecycle.COMPLETE_IN_PROGRESS:
            assert not allowed, (operation, status)
    assert lifecycle.transition_error(Operation.REFRESH, status) is None


def test_update_and_cancel_while_open() -> None:
    for status in (lifecycle.INCOMPLETE, lifecycle.REQUIRES_ESCALATION, lifecycle.READY_FOR_COMPLETE):
        assert lifecycle.transition_error(Operation.UPDATE, status) is None
        assert lifecycle.transition_error(Operation.CANCEL, status) is None


def test_missing_session_is_not_found() -> None:
    error = lifecycle.transition_error(Operation.UPDATE, None)
    assert error is not None and error.code is ErrorCode.NOT_FOUND


def _checkout(total: int | None, currency: str = "USD") -> dict[str, object]:
    totals = [{"type": "subtotal", "amount": 100}] + ([{"type": "total", "amount": total}] if total is not None else [])
    return {"currency": currency, "totals": totals}


@pytest.mark.parametrize(
    ("policy", "checkout", "reason"),
    [
        (PolicySnapshot(max_total=5000), _checkout(5001), "max_total"),
        (PolicySnapshot(max_total=5000), _checkout(None), "max_total"),
        (PolicySnapshot(allowed_currencies=["EUR"]), _checkout(10), "currency"),
        (PolicySnapshot(max_total=5000), _checkout(5000), None),
        (PolicySnapshot(), _checkout(10**9, "JPY"), None),
    ],
)
def test_spend_policy(policy: PolicySnapshot, checkout: dict[str, object], reason: str | None) -> None:
    error = lifecycle.policy_error(policy, checkout)
    if reason is None:
        assert error is None
    else:
        assert error is not None and error.code is ErrorCode.POLICY_DENIED and error.reason == reason


def test_presented_checkout_uses_the_connector_id_and_keeps_the_rest() -> None:
    merchant = {"id": "chk_1", "status": "incomplete", "x-extension": {"a": 1}}
    presented = lifecycle.presented_checkout(merchant, "cs_abc")
    assert presented == {"id": "cs_abc", "status": "incomplete", "x-extension": {"a": 1}}
    assert merchant["id"] == "chk_1"


def test_expires_at_parsing() -> None:
    assert lifecycle.expires_at({"expires_at": "2026-11-28T12:00:00Z"}) == dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    assert lifecycle.expires_at({"expires_at": "garbage"}) is None
    assert lifecycle.expires_at({}) is None


def test_error_envelope_detection() -> None:
    assert lifecycle.is_error_envelope({"ucp": {"status": "error"}, "messages": []})
    assert not lifecycle.is_error_envelope({"ucp": {"status": "success"}, "id": "x"})
    assert not lifecycle.is_error_envelope({"id": "x"})


@pytest.mark.parametrize("final", sorted(lifecycle.TERMINAL))
def test_a_terminal_status_is_final(final: str) -> None:
    """Issue 11.5: a merchant answer that would move a completed or canceled session elsewhere is stale."""
    state = SessionState(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), status=final)
    for status in sorted(lifecycle.STATUSES - {final}):
        assert lifecycle.contradicts_final(state, {"status": status})
    assert not lifecycle.contradicts_final(state, {"status": final})
    open_state = state.model_copy(update={"status": lifecycle.COMPLETE_IN_PROGRESS})
    assert not lifecycle.contradicts_final(open_state, {"status": lifecycle.COMPLETED})
