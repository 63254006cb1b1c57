"""A finished session looks finished: its checkout workflow completes, and what reaches it afterwards is answered.

Issue 16.2, decision 0001 (docs/decisions/0001-finished-sessions-close.md), on real Temporal (time
skipping) against the real reference merchant: the workflow closes with status COMPLETED after
complete and after cancel; replays after the close get the identical answer (IDM-05, DESIGN invariants
2-3), another body under the same key ``409 idempotency_key_reused`` (IDM-07), a new key the transition
refusal of the open session; a create retry never starts a second workflow nor a second order
(invariants 3-4); order webhooks after the close go to the session's order workflow, deduplicated
(ORD-24), a stale one refused (ORD-25), audited in the session's chain (invariant 7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import ErrorCode, UcpError, checkout_workflow_id
from tests.fixtures.connector_stack import (
    MERCHANT,
    PLATFORM,
    ConnectorStack,
    connector_stack,
    payment_body,
    ready_body,
)
from tests.fixtures.temporal import advance
from tests.fixtures.waiting import eventually
from workflows.types import Operation, OrderEvent, OrderRead, SessionView, order_workflow_id


async def _rejected(call: Any) -> UcpError:
    with pytest.raises(UcpError) as caught:
        await call
    return caught.value


def _checkout(stack: ConnectorStack, session_id: str) -> WorkflowHandle[Any, SessionView]:
    return stack.client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id), result_type=SessionView)


async def _closed(stack: ConnectorStack, session_id: str) -> SessionView:
    """The session's checkout workflow once it has completed (awaiting it lets time skip over its grace)."""
    handle = _checkout(stack, session_id)
    final = await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    return final


async def test_a_completed_session_closes_and_answers_replays_from_its_result(stack: ConnectorStack) -> None:
    """Issue 16.2, IDM-05, IDM-07, invariants 2-4: closed COMPLETED at ``completed``; replays answered identically.

    Same key + same body → the identical answer (create and complete, no second merchant call, one
    order, no second workflow run); same key + another body → 409 idempotency_key_reused; a new key
    for update/complete → the open session's transition refusal.
    """
    create_key, complete_key = str(uuid.uuid4()), str(uuid.uuid4())
    session_id, created = await stack.create(ready_body(), key=create_key)
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=complete_key)
    assert completed.body["status"] == "completed"
    final = await _closed(stack, session_id)
    assert final.status == "completed" and final.closed is not None
    run_id = (await _checkout(stack, session_id).describe()).run_id

    assert await stack.create(ready_body(), key=create_key) == (session_id, created)
    assert await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=complete_key) == completed
    assert stack.requests.count("POST", "/checkout-sessions") == 1
    assert stack.requests.count("POST", "/complete") == 1
    assert await stack.merchant.count_orders() == 1
    assert (await _checkout(stack, session_id).describe()).run_id == run_id  # never restarted

    reused = await _rejected(stack.operate(session_id, Operation.COMPLETE, payment_body("other_tok"), key=complete_key))
    assert (reused.code, reused.http_status) == (ErrorCode.IDEMPOTENCY_KEY_REUSED, 409)
    reused_create = await _rejected(stack.create(ready_body([("mug_ceramic", 3)]), key=create_key))
    assert reused_create.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    for operation, body in ((Operation.UPDATE, ready_body()), (Operation.COMPLETE, payment_body())):
        refused = await _rejected(stack.operate(session_id, operation, body))
        assert (refused.code, refused.http_status) == (ErrorCode.TRANSITION_INVALID, 409)
        assert refused.detail == {"operation": operation.value, "status": "completed"}
    view = await stack.view(session_id)
    assert view.status == "completed" and view.checkout == completed.body


async def test_a_canceled_session_closes_and_refuses_what_the_open_one_refused(stack: ConnectorStack) -> None:
    """Issue 16.2, IDM-05, invariant 2: closed COMPLETED at ``canceled``; the cancel's replay is identical."""
    session_id, _ = await stack.create(ready_body())
    cancel_key = str(uuid.uuid4())
    canceled = await stack.operate(session_id, Operation.CANCEL, {}, key=cancel_key)
    assert canceled.body["status"] == "canceled"
    assert (await _closed(stack, session_id)).status == "canceled"
    assert await stack.operate(session_id, Operation.CANCEL, {}, key=cancel_key) == canceled
    refused = await _rejected(stack.operate(session_id, Operation.COMPLETE, payment_body()))
    assert refused.code is ErrorCode.TRANSITION_INVALID and refused.detail == {
        "operation": "complete",
        "status": "canceled",
    }


async def test_replays_inside_the_48_hour_window_are_answered_after_the_close(
    time_travel_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """DESIGN invariant 2 (keys honoured for 48 h), IDM-04/IDM-05: 47 h after the close the replay is identical."""
    async with connector_stack(time_travel_env, tmp_path) as stack:
        key = str(uuid.uuid4())
        session_id, _ = await stack.create(ready_body())
        completed = await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key)
        await _closed(stack, session_id)
        await advance(time_travel_env, dt.timedelta(hours=47))
        assert await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key) == completed
        assert stack.requests.count("POST", "/complete") == 1


async def test_order_webhooks_after_the_close_go_to_the_order_workflow(stack: ConnectorStack) -> None:
    """ORD-18, ORD-24, ORD-25, invariant 7: after the close an order event is accepted, a redelivery deduplicated,
    an older snapshot refused, all audited in the session's chain; GET of the session and the order reflect it."""
    session_id, _ = await stack.create(ready_body())
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    await _closed(stack, session_id)
    order_id = completed.body["order"]["id"]
    shipped = {"id": order_id, "checkout_id": "x", "fulfillment": {"events": [{"id": "e1", "type": "shipped"}]}}
    event = OrderEvent(webhook_id="wh-1", received_at=dt.datetime.now(dt.UTC), order=shipped, webhook_timestamp=2000)
    await stack.gateway.order_event(PLATFORM, session_id, event)
    await stack.gateway.order_event(PLATFORM, session_id, event)  # redelivery: deduplicated
    stale = OrderEvent(
        webhook_id="wh-0", received_at=dt.datetime.now(dt.UTC), order={"id": order_id, "checkout_id": "x"}
    )
    await stack.gateway.order_event(PLATFORM, session_id, stale.model_copy(update={"webhook_timestamp": 1000}))
    order_handle = stack.client.get_workflow_handle(order_workflow_id(checkout_workflow_id(PLATFORM, session_id)))
    view = await stack.wait_for(session_id, lambda v: (v.order or {}).get("fulfillment") is not None)
    assert view.status == "completed" and view.order is not None and view.order["id"] == order_id
    assert (await order_handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await _checkout(stack, session_id).describe()).status == WorkflowExecutionStatus.COMPLETED

    read = await stack.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id=MERCHANT, order_id=order_id))
    assert read is not None and read.http_status == 200 and read.body["id"] == order_id
    assert stack.requests.count("GET", order_id) == 1
    other = await _rejected(
        stack.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id=MERCHANT, order_id="ord_other"))
    )
    assert other.code is ErrorCode.NOT_FOUND

    async def trail() -> list[tuple[str, str]]:
        page = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
        return [(item.action, item.outcome) for item in page.items]

    actions = await eventually(trail, lambda seen: ("read_order", "accepted") in seen)
    assert actions.count(("order_event", "accepted")) == 1
    assert actions.count(("order_event", "rejected")) == 1
    assert (await stack.repository.verify_chains(session_id=session_id)).ok


async def test_long_order_histories_continue_as_new_and_replays_still_answer(stack: ConnectorStack) -> None:
    """ORD-24, invariants 3-5: long order histories after the close continue the order workflow as new; the
    create replay still answers from the checkout workflow's result, one order."""
    key = str(uuid.uuid4())
    session_id, created = await stack.create(ready_body(), key=key, history_limit=100)
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    await _closed(stack, session_id)
    order_handle = stack.client.get_workflow_handle(order_workflow_id(checkout_workflow_id(PLATFORM, session_id)))
    first_run: str | None = None
    for index in range(40):
        order = {"id": completed.body["order"]["id"], "checkout_id": "x", "n": index}
        await stack.gateway.order_event(
            PLATFORM, session_id, OrderEvent(webhook_id=f"wh-{index}", received_at=dt.datetime.now(dt.UTC), order=order)
        )
        first_run = first_run or (await order_handle.describe()).run_id
    view = await stack.wait_for(session_id, lambda v: (v.order or {}).get("n") == 39)
    assert view.status == "completed"
    await eventually(order_handle.describe, lambda d: d.run_id != first_run)
    assert await stack.create(ready_body(), key=key) == (session_id, created)
    assert await stack.merchant.count_orders() == 1
