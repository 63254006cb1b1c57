"""Issue 13: a platform operation that calls the merchant finishes in one workflow task.

The merchant call and the operation's audit trail are one local activity
(``merchant_operation``), so create, update and complete each take one
workflow task, schedule no regular activity, and still answer only after their
audit rows are stored (DESIGN.md invariant 7). A failure that may pass falls
back to the regular activity with the operation's retry policy and the same
outbound key (invariant 4); a final failure is stored by the same local activity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.types import AuditRecord, MerchantOperation
from contracts import ErrorCode, UcpError
from tests.workflows.scripted import Retryable, ScriptedSession, checkout, merchant_summary, scripted_session
from workflows.types import Operation

ORDER = {"id": "ord_1", "permalink_url": "https://shop.example/orders/ord_1"}
LINE_ITEMS = {"line_items": [{"item": {"id": "mug"}, "quantity": 1}]}


@pytest.fixture
async def scripted(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ScriptedSession]:
    async with scripted_session(time_skipping_env.client) as session:
        yield session


async def _history(scripted: ScriptedSession, session_id: str) -> Counter[int]:
    return Counter([event.event_type async for event in scripted.handle(session_id).fetch_history_events()])


async def test_create_update_complete_take_one_workflow_task_each_and_no_activity(scripted: ScriptedSession) -> None:
    """Fails on the build before issue 13: 12 workflow tasks, 8 activities, 84 events for the same flow."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    fakes.answer(MerchantOperation.UPDATE, checkout("ready_for_complete"))
    fakes.answer(MerchantOperation.COMPLETE, checkout("completed", order=ORDER))
    session_id, _ = await scripted.create(LINE_ITEMS)
    stored_at_create = [audit.action for audit in fakes.audits()]
    assert stored_at_create == ["merchant_negotiated", "merchant.create_checkout", "status_changed", "create"]
    await scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS)
    await scripted.operate(session_id, Operation.COMPLETE, {"payment": {}})
    assert [audit.action for audit in fakes.audits()][-1] == "complete"  # stored before the answer
    events = await _history(scripted, session_id)
    assert events[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED] == 3
    assert events[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] == 0
    # The rest: start, 3 accepted + 3 completed updates, 2 local-activity markers for the create (discovery,
    # the call) and 1 each after, one search-attribute upsert per status, and the expiry timer (re-armed at
    # each status change here, as the scripted checkout names no expires_at).
    assert sum(events.values()) <= 28


async def test_a_create_started_with_the_apis_negotiation_runs_no_discovery(scripted: ScriptedSession) -> None:
    """The API negotiated the merchant (api/extensions.py::negotiated_merchant): the create's workflow task
    runs one local activity, the merchant call, and records the negotiation as before (issue 15's audit event
    and search attribute). Fails on the build that always discovered: two markers, the scripted release."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    negotiated = merchant_summary(version="2026-01-11")
    session_id, created = await scripted.create(LINE_ITEMS, merchant=negotiated)
    assert created.http_status == 201
    events = await _history(scripted, session_id)
    assert events[EventType.EVENT_TYPE_MARKER_RECORDED] == 1
    assert events[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED] == 1
    negotiation = next(audit for audit in fakes.audits() if audit.action == "merchant_negotiated")
    assert negotiation.payload == {"release": "2026-01-11", "capabilities": negotiated.capabilities}
    view = await scripted.handle(session_id).query("view")
    assert view["merchant_version"] == "2026-01-11"


async def test_a_final_merchant_failure_is_stored_by_the_same_local_activity(scripted: ScriptedSession) -> None:
    """A merchant 4xx is an outcome: its failed call and the rejected answer are stored before the answer."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    fakes.answer(MerchantOperation.UPDATE, UcpError("bad item", code=ErrorCode.MERCHANT_REQUEST_REJECTED))
    session_id, _ = await scripted.create(LINE_ITEMS)
    refused = await scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS)
    assert refused.body["code"] == "merchant_request_rejected"
    failed, answer = fakes.audits()[-2:]
    assert (failed.action, failed.outcome, failed.error_code) == (
        "merchant.update_checkout",
        "failed",
        refused.body["code"],
    )
    assert (answer.action, answer.outcome, answer.payload["http_status"]) == ("update", "rejected", refused.http_status)
    events = await _history(scripted, session_id)
    assert events[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED] == 2
    assert events[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] == 0


async def test_a_failure_that_may_pass_is_retried_by_the_regular_activity_with_the_same_key(
    scripted: ScriptedSession,
) -> None:
    """Invariant 4: the fallback re-sends the complete with the same outbound key; one set of records is stored."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("ready_for_complete"))
    busy = Retryable(UcpError("the merchant is unavailable", code=ErrorCode.MERCHANT_UNAVAILABLE))
    fakes.answer(MerchantOperation.COMPLETE, busy, checkout("completed", order=ORDER))
    session_id, _ = await scripted.create(LINE_ITEMS)
    completed = await scripted.operate(session_id, Operation.COMPLETE, {"payment": {}})
    assert completed.body["status"] == "completed"
    completes = [call for call in fakes.calls if call.operation is MerchantOperation.COMPLETE]
    assert len(completes) == 2 and completes[0].idempotency_key == completes[1].idempotency_key
    audits = [item for item in fakes.written if isinstance(item, AuditRecord)]
    assert [audit.seq for audit in audits] == list(range(1, len(audits) + 1))  # nothing written twice
    assert [audit.action for audit in audits].count("merchant.complete_checkout") == 1
    assert (await _history(scripted, session_id))[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] == 1
