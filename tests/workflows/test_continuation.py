"""Continue-as-new hands the next run everything the last one knew (DESIGN "Checkout lifecycle").

A field the workflow keeps but does not carry is silently reset in the next run: an unknown
complete outcome would stop being polled, the outbound key sequence would restart and collide
with keys already sent (invariant 4). The workflow therefore keeps everything in one
``SessionState`` that ``continue_as_new`` carries whole; these tests catch state kept elsewhere,
a field that does not survive the payload round trip, and a start input of an earlier build
that no longer loads. tests/workflows/test_workflow_logic.py runs a continuation for real.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from activities.types import AuditRecord, PlatformNotification, SessionIndexRecord
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from tests.workflows.scripted import merchant_summary
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import IdempotencyRecord, Operation, OperationResult, SessionStart, SessionState, StatusChange

AT = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
START = {"platform_id": "agent", "session_id": "cs_1", "merchant_id": "shop"}


def _every_field_set() -> SessionState:
    """Real values, each one different from its field's default."""
    result = OperationResult(operation=Operation.COMPLETE, http_status=200, body={"id": "cs_1"}, request_digest="d")
    return SessionState(
        created=True,
        created_at=AT - dt.timedelta(hours=1),
        merchant=merchant_summary(),
        merchant_checkout_id="chk_1",
        checkout={"id": "chk_1", "status": "complete_in_progress"},
        status="complete_in_progress",
        status_history=[StatusChange(status="ready_for_complete", at=AT, cause="create")],
        closed_at=AT,
        closed_reason="create_never_arrived",
        order={"id": "ord_1"},
        order_event_ids=["wh_1"],
        order_timestamp=1_775_728_800,
        idempotency={"k1": IdempotencyRecord(operation=Operation.COMPLETE, digest="d", result=result)},
        reconcile=True,
        polls=4,
        last_expiry_check=AT,
        merchant_call_seq=3,
        lost_complete_seq=2,
        audit_seq=7,
        notification_seq=2,
        pending_audit=[
            AuditRecord(
                platform_id="agent",
                session_id="cs_1",
                seq=7,
                occurred_at=AT,
                actor="connector",
                action="a",
                outcome="ok",
            ),
            SessionIndexRecord(
                platform_id="agent",
                session_id="cs_1",
                merchant_id="shop",
                merchant_checkout_id="chk_1",
                status="complete_in_progress",
                created_at=AT,
                updated_at=AT,
                version=2,
            ),
        ],
        pending_notifications=[
            PlatformNotification(
                event_id="cs_1.2",
                platform_id="agent",
                webhook_url="https://agent.example/hooks",
                event_type="order.updated",
                occurred_at=AT,
                payload={"order": {"id": "ord_1"}},
            )
        ],
    )


def test_the_fixture_sets_every_field() -> None:
    """A field added to SessionState without a value here would go unchecked by the round trip below."""
    state = _every_field_set()
    unset = [
        name
        for name, field in SessionState.model_fields.items()
        if not field.is_required() and getattr(state, name) == field.get_default(call_default_factory=True)
    ]
    assert unset == []


async def test_session_state_survives_the_continue_as_new_payload(payload_keyring: PayloadKeyring) -> None:
    """Through the production data converter (encrypting codec included), every field comes back equal."""
    converter = data_converter(payload_keyring)
    start = SessionStart(**START, carried=_every_field_set())
    [decoded] = await converter.decode(await converter.encode([start]), [SessionStart])
    assert decoded == start
    assert isinstance(decoded.carried.pending_audit[1], SessionIndexRecord)


def test_the_workflow_keeps_no_session_state_outside_session_state() -> None:
    """Only per-run machinery lives beside ``state``; anything new must go into SessionState or be listed here."""
    workflow = CheckoutSessionWorkflow(SessionStart(**START, carried=_every_field_set()))
    per_run = {"_start", "state", "_outbox", "_merchant", "_merchant_lock", "_updates_in_flight", "_changes"}
    # _current follows from _start; _release_attribute lives only while the create runs.
    per_run |= {"_current", "_release_attribute"}
    assert set(vars(workflow)) == per_run
    # The outbox's operation bookkeeping (_writing .. _decided_meanwhile) is empty between operations.
    operation = {"_writing", "_collected", "_collect_at", "_held", "_decided_meanwhile"}
    assert set(vars(workflow._outbox)) == {"_start", "_state", "_written", "_drains", *operation}
    assert set(vars(workflow._merchant)) == {"_start", "_state", "_outbox", "pending"}  # pending: within an operation
    assert workflow._outbox._state is workflow.state and workflow._merchant._state is workflow.state


def test_a_run_continued_by_the_previous_build_still_starts() -> None:
    """The ``CarriedState`` an earlier build wrote (without ``polls``, ``last_expiry_check``) loads as SessionState."""
    carried: dict[str, Any] = {
        "merchant": None,
        "merchant_checkout_id": "chk_1",
        "checkout": {"id": "chk_1", "status": "completed"},
        "status": "completed",
        "created": True,
        "closed_at": AT.isoformat(),
        "created_at": AT.isoformat(),
        "order": None,
        "order_event_ids": ["wh_1"],
        "status_history": [{"status": "completed", "at": AT.isoformat(), "cause": "complete"}],
        "idempotency": {"k1": {"operation": "complete", "digest": "d", "result": None}},
        "merchant_call_seq": 3,
        "audit_seq": 9,
        "notification_seq": 0,
        "pending_audit": [
            {
                "kind": "audit",
                "platform_id": "agent",
                "session_id": "cs_1",
                "seq": 9,
                "occurred_at": AT.isoformat(),
                "actor": "connector",
                "action": "status_changed",
                "outcome": "succeeded",
            }
        ],
        "pending_notifications": [],
        "reconcile": False,
    }
    state = SessionStart.model_validate({**START, "carried": carried}).carried
    assert state is not None
    assert (state.merchant_call_seq, state.audit_seq, state.polls, state.last_expiry_check) == (3, 9, 0, None)
    assert isinstance(state.pending_audit[0], AuditRecord) and state.idempotency["k1"].operation is Operation.COMPLETE
