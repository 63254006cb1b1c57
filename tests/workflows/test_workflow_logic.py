"""CheckoutSessionWorkflow's own logic with scripted activities (tests/workflows/scripted.py), time-skipping server.

Beside the real-merchant tests in test_checkout_workflow.py: these isolate what the workflow
decides (calls, keys, audit order, error codes, validators, continue-as-new) from what the
merchant and the store do. Covers DESIGN invariants 2-5 and 7, CHK-01, CMP-01, CMP-02, CMP-03,
IDM-05, IDM-07, TRN-15.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment

from activities.types import ActivityName, MerchantOperation, SessionIndexRecord
from contracts import ErrorCode, UcpError, checkout_workflow_id, outbound_idempotency_key
from tests.fixtures.connector_stack import PLATFORM, request
from tests.fixtures.temporal import advance
from tests.fixtures.waiting import eventually
from tests.workflows.scripted import MERCHANT_CHECKOUT_ID, Retryable, ScriptedSession, checkout, scripted_session
from workflows.activity_options import ACTIVITY_OPTIONS
from workflows.types import Operation, OrderRead, PolicySnapshot

ORDER = {"id": "ord_1", "permalink_url": "https://shop.example/orders/ord_1"}
LINE_ITEMS = {"line_items": [{"item": {"id": "mug"}, "quantity": 1}]}


@pytest.fixture
async def scripted(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ScriptedSession]:
    async with scripted_session(time_skipping_env.client) as session:
        yield session


async def _refused(call: Any) -> UcpError:
    with pytest.raises(UcpError) as caught:
        await call
    return caught.value


async def test_create_update_complete_follows_the_scripted_merchant(scripted: ScriptedSession) -> None:
    """CHK-01, CMP-01/02, invariants 4 and 7: one call per operation, one key per sequence, audit in decision order."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    fakes.answer(MerchantOperation.UPDATE, checkout("ready_for_complete"))
    # The complete's first (local) attempt meets a 503: the regular activity retries it with the same key.
    unavailable = Retryable(UcpError("the merchant is unavailable", code=ErrorCode.MERCHANT_UNAVAILABLE))
    fakes.answer(MerchantOperation.COMPLETE, unavailable, checkout("completed", order=ORDER))
    session_id, created = await scripted.create(LINE_ITEMS, merchant_call_timeout_seconds=7)
    assert (created.http_status, created.body["id"], created.body["status"]) == (201, session_id, "incomplete")
    updated = await scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS)
    assert (updated.http_status, updated.body["status"]) == (200, "ready_for_complete")
    completed = await scripted.operate(session_id, Operation.COMPLETE, {"payment": {}})
    assert (completed.body["status"], completed.body["order"]) == ("completed", ORDER)
    assert completed.body["id"] == session_id  # the platform never sees the merchant's id

    workflow_id = checkout_workflow_id(PLATFORM, session_id)
    assert fakes.operations() == [
        MerchantOperation.CREATE,
        MerchantOperation.UPDATE,
        MerchantOperation.COMPLETE,
        MerchantOperation.COMPLETE,
    ]
    assert [call.resource_id for call in fakes.calls] == [None, *[MERCHANT_CHECKOUT_ID] * 3]
    assert [call.idempotency_key for call in fakes.calls] == [
        outbound_idempotency_key(workflow_id, n) for n in (1, 2, 3, 3)
    ]
    view = await scripted.view(session_id)
    assert [(change.status, change.cause) for change in view.status_history] == [
        ("incomplete", "create"),
        ("ready_for_complete", "update"),
        ("completed", "complete"),
    ]
    # Each answer waited for its own audit rows, so they are all stored by now, in order.
    steps = [("merchant_negotiated", "merchant.create_checkout", "status_changed", "create")]
    steps += [("merchant.update_checkout", "status_changed", "update")]
    steps += [("merchant.complete_checkout", "status_changed", "complete")]
    assert [audit.action for audit in fakes.audits()] == [action for step in steps for action in step]
    assert [audit.seq for audit in fakes.audits()] == list(range(1, 11))
    index = [item for item in fakes.written if isinstance(item, SessionIndexRecord)]
    assert [(row.status, row.version) for row in index] == [
        ("incomplete", 1),
        ("ready_for_complete", 2),
        ("completed", 3),
    ]
    assert index[-1].order_id == ORDER["id"]
    await _scheduled_with_the_table_options(scripted, session_id, attempt=dt.timedelta(seconds=7))


async def _scheduled_with_the_table_options(scripted: ScriptedSession, session_id: str, attempt: dt.timedelta) -> None:
    """Every activity the history scheduled carries its options from workflows/activity_options.py.

    Issue 13: an operation's merchant call and audit rows are one local activity, so the only regular
    activity of this flow is the complete's fallback, with the complete's 24 h policy.
    """
    scheduled = []
    async for event in scripted.handle(session_id).fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        scheduled.append(ActivityName(attributes.activity_type.name))
        options = ACTIVITY_OPTIONS[(ActivityName.CALL_MERCHANT, MerchantOperation.COMPLETE)]
        assert attributes.start_to_close_timeout.ToTimedelta() == attempt
        assert attributes.schedule_to_close_timeout.ToTimedelta() == options.deadline
        assert RetryPolicy.from_proto(attributes.retry_policy) == options.retry
    assert scheduled == [ActivityName.MERCHANT_OPERATION]


async def test_merchant_failures_reach_the_platform_as_their_frozen_codes(scripted: ScriptedSession) -> None:
    """Invariant 5: a merchant 4xx fails once as merchant_request_rejected; TRN-15: an error envelope is no checkout."""
    fakes = scripted.fakes
    rejected = UcpError("the merchant refused", code=ErrorCode.MERCHANT_REQUEST_REJECTED, detail={"http_status": 400})
    fakes.answer(MerchantOperation.CREATE, rejected)
    session_id, result = await scripted.create(LINE_ITEMS)
    assert (result.http_status, result.body["code"], result.body["detail"]) == (
        502,
        "merchant_request_rejected",
        rejected.detail,
    )
    assert fakes.operations() == [MerchantOperation.CREATE]  # non-retryable: tried once
    [negotiated, call_audit, answer_audit] = fakes.audits()
    assert (negotiated.action, negotiated.payload["release"]) == ("merchant_negotiated", "2026-04-08")
    assert (call_audit.action, call_audit.outcome, call_audit.error_code) == (
        "merchant.create_checkout",
        "failed",
        "merchant_request_rejected",
    )
    assert (answer_audit.action, answer_audit.outcome, answer_audit.error_code) == (
        "create",
        "rejected",
        "merchant_request_rejected",
    )
    assert (await scripted.view(session_id)).status is None

    fakes.answer(MerchantOperation.CREATE, {"ucp": {"status": "error"}, "messages": [{"code": "out_of_stock"}]})
    other_id, envelope = await scripted.create(LINE_ITEMS)
    assert (envelope.http_status, envelope.body["ucp"]["status"]) == (200, "error")
    assert (await scripted.view(other_id)).checkout is None


async def test_validators_refuse_before_any_activity_call(scripted: ScriptedSession) -> None:
    """Invariant 2-3, IDM-07, CMP-01, DESIGN "Policy": refusals write nothing to history and call no merchant."""
    fakes = scripted.fakes
    fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    create_key = str(uuid.uuid4())
    session_id, _ = await scripted.create(LINE_ITEMS, create_key, policy=PolicySnapshot(max_total=1000))
    refusals = [
        (scripted.operate(session_id, Operation.COMPLETE, {"payment": {}}), ErrorCode.TRANSITION_INVALID),
        (scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS, key=create_key), ErrorCode.IDEMPOTENCY_KEY_REUSED),
        (
            scripted.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id="shop", order_id="ord_1")),
            ErrorCode.NOT_FOUND,
        ),
    ]
    for call, code in refusals:
        assert (await _refused(call)).code is code
    elsewhere = request(LINE_ITEMS).model_copy(update={"merchant_id": "another-shop"})
    error = await _refused(scripted.gateway.operate(PLATFORM, session_id, Operation.CANCEL, elsewhere))
    assert error.code is ErrorCode.NOT_FOUND

    fakes.answer(MerchantOperation.UPDATE, checkout("ready_for_complete"))
    await scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS)
    denied = await _refused(scripted.operate(session_id, Operation.COMPLETE, {"payment": {}}))
    assert denied.code is ErrorCode.POLICY_DENIED and denied.detail["reason"] == "max_total"
    assert fakes.operations() == [MerchantOperation.CREATE, MerchantOperation.UPDATE]
    accepted = [
        event
        async for event in scripted.handle(session_id).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 2  # create and the one allowed update


async def test_continue_as_new_carries_the_state_whole(time_travel_env: WorkflowEnvironment) -> None:
    """A complete with an unknown outcome is still polled after continue-as-new; keys and sequences go on (invariant 4).

    Fails when any of status history, idempotency records, the reconcile flag, the outbound key
    sequence or the audit sequence is reset by the continuation.
    """
    async with scripted_session(time_travel_env.client) as scripted:
        fakes = scripted.fakes
        fakes.answer(MerchantOperation.CREATE, checkout("ready_for_complete"))
        unknown = UcpError("the merchant is unavailable", code=ErrorCode.MERCHANT_UNAVAILABLE)
        fakes.answer(MerchantOperation.COMPLETE, unknown)
        fakes.answer(MerchantOperation.GET, unknown)
        session_id, _ = await scripted.create(LINE_ITEMS, history_limit=100)
        complete_key = str(uuid.uuid4())
        failed = await scripted.operate(session_id, Operation.COMPLETE, {"payment": {}}, key=complete_key)
        assert failed.body["code"] == "merchant_unavailable"
        before = await scripted.view(session_id)
        assert "polling_merchant_for_outcome" in before.pending_actions
        first_run = (await scripted.handle(session_id).describe()).run_id

        async def run_id() -> str | None:
            await advance(time_travel_env, dt.timedelta(minutes=2))  # polls that keep failing grow the history
            return (await scripted.handle(session_id).describe()).run_id

        await eventually(run_id, lambda current: current != first_run, 60)
        after = await scripted.view(session_id)
        assert after.status_history == before.status_history  # the recorded status is still ready_for_complete
        # ...but a GET says complete_in_progress while the unknown outcome is reconciled (issue 11.5: it agrees
        # with what the API answered the complete); it said ready_for_complete before that rule.
        assert before.status == after.status == "complete_in_progress"
        assert "polling_merchant_for_outcome" in after.pending_actions  # reconcile survived
        busy = {"ucp": {"status": "error"}, "messages": [{"type": "error", "code": "completion_in_progress"}]}
        fakes.answer(MerchantOperation.UPDATE, busy)
        assert (await scripted.operate(session_id, Operation.UPDATE, LINE_ITEMS)).body == busy

        fakes.answer(MerchantOperation.GET, checkout("completed", order=ORDER))
        await advance(time_travel_env, dt.timedelta(minutes=2))
        completed = await eventually(lambda: scripted.view(session_id), lambda view: view.status == "completed", 30)
        assert completed.status_history[-1].cause == "poll"
        replay = await scripted.operate(session_id, Operation.COMPLETE, {"payment": {}}, key=complete_key)
        assert replay == failed  # answered from the carried idempotency record
        assert fakes.operations().count(MerchantOperation.COMPLETE) == 1

        workflow_id = checkout_workflow_id(PLATFORM, session_id)
        keyed = [(n, call) for n, call in enumerate(fakes.calls, start=1) if call.idempotency_key is not None]
        assert [call.operation for _, call in keyed][-1] is MerchantOperation.UPDATE  # drawn after the continuation
        assert [call.idempotency_key for _, call in keyed] == [
            outbound_idempotency_key(workflow_id, n) for n, _ in keyed
        ]
        stored = {audit.seq: audit for audit in fakes.audits()}  # a batch in flight at the continuation is re-sent
        assert sorted(stored) == list(range(1, max(stored) + 1))
        assert all(stored[audit.seq] == audit for audit in fakes.audits())
