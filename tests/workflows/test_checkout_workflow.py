"""CheckoutSessionWorkflow end to end on real Temporal (time skipping) against the real reference merchant.

Covers DESIGN invariants 2-7 and CHK-01, CHK-03, CHK-09, CHK-16, CMP-01, CMP-02, CMP-03,
IDM-05, IDM-07, IDM-12, ORD-18, ORD-24, TRN-15.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api.gateway import CheckoutGateway
from contracts import ErrorCode, UcpError, checkout_workflow_id
from core.temporal.client import data_converter
from tests.fixtures.connector_stack import (
    MERCHANT,
    PLATFORM,
    ConnectorStack,
    connector_stack,
    payment_body,
    ready_body,
    request,
)
from tests.fixtures.temporal import advance
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import Operation, OrderEvent, OrderRead, PolicySnapshot

CHECKOUTS = "/checkout-sessions"


async def _ready(stack: ConnectorStack) -> str:
    session_id, result = await stack.create(ready_body())
    assert result.http_status == 201, result.body
    assert result.body["status"] == "ready_for_complete"
    return session_id


async def _chain_is_valid(stack: ConnectorStack, session_id: str) -> list[dict[str, Any]]:
    """DESIGN invariant 7: the session's audit events exist and their hash chain verifies."""
    view = await stack.wait_for(session_id, lambda v: not any(a.startswith("audit_writes") for a in v.pending_actions))
    assert view.session_id == session_id
    page = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
    report = await stack.repository.verify_chains(session_id=session_id)
    assert report.ok, report
    return [event.to_api_dict() for event in page.items]


async def test_happy_path_to_completed_with_exactly_one_order(stack: ConnectorStack) -> None:
    """CMP-01/CMP-02: complete from ready_for_complete places one order; the platform sees the connector's id."""
    session_id = await _ready(stack)
    result = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    assert result.http_status == 200
    assert result.body["status"] == "completed" and result.body["id"] == session_id
    assert result.body["order"]["id"]
    view = await stack.view(session_id)
    assert [change.status for change in view.status_history] == ["ready_for_complete", "completed"]
    assert view.merchant_checkout_id and view.merchant_checkout_id != session_id
    assert await stack.merchant.count_orders() == 1
    events = await _chain_is_valid(stack, session_id)
    actions = [event["action"] for event in events]
    assert "merchant.create_checkout" in actions and "merchant.complete_checkout" in actions
    assert actions.count("complete") == 1
    record = await stack.repository.get_session(session_id, PLATFORM)
    assert record is not None and record.status == "completed" and record.order_id == result.body["order"]["id"]


async def test_escalation_surfaces_continue_url_and_returns(stack: ConnectorStack) -> None:
    """CHK-03/CHK-09/CMP-05: requires_escalation carries continue_url and a requires_buyer_input message; complete
    waits for the buyer's hand-off, then (retried) completes."""
    session_id, result = await stack.create(ready_body([("watch_engraved", 1)]))
    assert result.body["status"] == "requires_escalation"
    assert result.body["continue_url"].startswith("http")
    assert any(message.get("severity") == "requires_buyer_input" for message in result.body["messages"])
    view = await stack.view(session_id)
    assert "buyer_handoff_via_continue_url" in view.pending_actions
    # CHK-03: a complete before the buyer's hand-off answers the escalation again and places no order.
    early = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    assert early.http_status == 200 and early.body["status"] == "requires_escalation", early.body
    assert await stack.merchant.count_orders() == 0
    assert view.merchant_checkout_id is not None
    await stack.merchant.complete_buyer_handoff(view.merchant_checkout_id)
    # CMP-05: after the hand-off the retried complete reads the merchant (ready_for_complete) and completes.
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    assert completed.body["status"] == "completed"


async def _rejected(call: Any) -> UcpError:
    with pytest.raises(UcpError) as caught:
        await call
    return caught.value


async def test_async_completion_is_polled_to_completed(stack: ConnectorStack) -> None:
    """CMP-03: complete_in_progress is polled with backoff until the merchant reports completed."""
    session_id = await _ready(stack)
    result = await stack.operate(session_id, Operation.COMPLETE, payment_body("async_tok"))
    assert result.body["status"] == "complete_in_progress"
    view = await stack.wait_for(session_id, lambda v: v.status == "completed")
    assert view.status_history[-1].cause == "poll"
    assert view.checkout is not None and view.checkout["order"]["id"]
    assert await stack.merchant.count_orders() == 1


async def test_async_completion_via_order_webhook_signal(stack: ConnectorStack) -> None:
    """ORD-18/ORD-24: a verified order webhook settles complete_in_progress even when polls fail."""
    session_id = await _ready(stack)
    stack.merchant.config.async_completion_seconds = 3600
    result = await stack.operate(session_id, Operation.COMPLETE, payment_body("async_tok"))
    assert result.body["status"] == "complete_in_progress"
    stack.merchant.faults.operations = {"get_checkout"}
    stack.merchant.faults.unavailable_count = 10_000
    stack.clock.advance(hours=2)
    await stack.merchant.tick()
    view = await stack.view(session_id)
    assert view.merchant_checkout_id is not None
    order = await stack.merchant.order_for_checkout(view.merchant_checkout_id)
    assert order is not None
    snapshot = {"id": order.id, "checkout_id": view.merchant_checkout_id, "permalink_url": "x", "currency": "USD"}
    event = OrderEvent(webhook_id="wh-1", received_at=dt.datetime.now(dt.UTC), order=snapshot)
    await stack.gateway.order_event(PLATFORM, session_id, event)
    await stack.gateway.order_event(PLATFORM, session_id, event)  # redelivery: deduplicated
    view = await stack.wait_for(session_id, lambda v: v.status == "completed")
    assert view.status_history[-1].cause == "order_webhook"
    assert view.order == snapshot
    events = await _chain_is_valid(stack, session_id)
    assert [event["action"] for event in events].count("order_event") == 1


async def test_cancel_then_nothing_else_is_allowed(stack: ConnectorStack) -> None:
    session_id = await _ready(stack)
    canceled = await stack.operate(session_id, Operation.CANCEL)
    assert canceled.http_status == 200 and canceled.body["status"] == "canceled"
    before = stack.requests.count("PUT", "")
    error = await _rejected(stack.operate(session_id, Operation.UPDATE, ready_body()))
    assert error.code is ErrorCode.TRANSITION_INVALID and error.http_status == 409
    assert stack.requests.count("PUT", "") == before  # the validator refused before any merchant call


async def test_expiry_re_reads_the_session_and_records_canceled(
    time_travel_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """CHK-16: at expires_at the workflow re-reads the merchant, which reports canceled."""
    async with connector_stack(time_travel_env, tmp_path) as stack:
        session_id, result = await stack.create({"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]})
        assert result.body["status"] == "incomplete" and result.body["expires_at"]
        stack.clock.advance(hours=7)
        await advance(time_travel_env, dt.timedelta(hours=7))
        view = await stack.wait_for(session_id, lambda v: v.status == "canceled")
        assert view.status_history[-1].cause == "expiry"


async def test_replays_return_the_same_result_and_call_the_merchant_once(stack: ConnectorStack) -> None:
    """IDM-05 / invariant 2-4: same key + same body -> same result, one merchant call per operation."""
    key = str(uuid.uuid4())
    first_id, first = await stack.create(ready_body(), key=key)
    second_id, second = await stack.create(ready_body(), key=key)
    assert (first_id, first) == (second_id, second)
    assert stack.requests.count("POST", CHECKOUTS) == 1

    update_key = str(uuid.uuid4())
    body = ready_body([("mug_ceramic", 1)])
    updated = await stack.operate(first_id, Operation.UPDATE, body, key=update_key)
    assert await stack.operate(first_id, Operation.UPDATE, body, key=update_key) == updated
    assert stack.requests.count("PUT", "") == 1

    complete_key = str(uuid.uuid4())
    completed = await stack.operate(first_id, Operation.COMPLETE, payment_body(), key=complete_key)
    assert await stack.operate(first_id, Operation.COMPLETE, payment_body(), key=complete_key) == completed
    assert stack.requests.count("POST", "/complete") == 1
    assert await stack.merchant.count_orders() == 1


async def test_same_key_with_another_body_is_idempotency_key_reused(stack: ConnectorStack) -> None:
    """IDM-07: 409 idempotency_key_reused, whatever the operation."""
    key = str(uuid.uuid4())
    session_id, _ = await stack.create(ready_body(), key=key)
    error = await _rejected(stack.create(ready_body([("mug_ceramic", 3)]), key=key))
    assert error.code is ErrorCode.IDEMPOTENCY_KEY_REUSED and error.http_status == 409
    update_key = str(uuid.uuid4())
    await stack.operate(session_id, Operation.UPDATE, ready_body(), key=update_key)
    error = await _rejected(
        stack.operate(session_id, Operation.UPDATE, ready_body([("mug_ceramic", 1)]), key=update_key)
    )
    assert error.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    error = await _rejected(stack.operate(session_id, Operation.COMPLETE, payment_body(), key=update_key))
    assert error.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert stack.requests.count("POST", "/complete") == 0


async def test_policy_refusal_never_reaches_the_merchant(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """DESIGN "Policy": the complete validator checks the merchant's current totals."""
    async with connector_stack(time_skipping_env, tmp_path, policy=PolicySnapshot(max_total=1000)) as stack:
        session_id = await _ready(stack)
        error = await _rejected(stack.operate(session_id, Operation.COMPLETE, payment_body()))
        assert error.code is ErrorCode.POLICY_DENIED and error.http_status == 403
        assert stack.requests.count("POST", "/complete") == 0
    async with connector_stack(
        time_skipping_env, tmp_path / "eur", policy=PolicySnapshot(allowed_currencies=["EUR"])
    ) as stack:
        session_id = await _ready(stack)
        error = await _rejected(stack.operate(session_id, Operation.COMPLETE, payment_body()))
        assert error.code is ErrorCode.POLICY_DENIED and error.detail["reason"] == "currency"


async def test_merchant_503_burst_is_retried_to_success(stack: ConnectorStack) -> None:
    stack.merchant.faults.unavailable_count = 3
    stack.merchant.faults.retry_after_seconds = 0
    session_id, result = await stack.create(ready_body())
    assert result.http_status == 201
    assert stack.requests.count("POST", CHECKOUTS) == 4
    assert (await stack.view(session_id)).status == "ready_for_complete"


async def test_merchant_timeout_is_retried_with_the_same_key(stack: ConnectorStack) -> None:
    """A hung merchant call times out (start_to_close) and is retried with the same outbound key."""
    stack.merchant.faults.operations = {"create_checkout"}
    stack.merchant.faults.hang_count, stack.merchant.faults.hang_seconds = 1, 30.0
    _, result = await stack.create(ready_body(), merchant_call_timeout_seconds=2)
    assert result.http_status == 201, result.body
    keys = stack.requests.keys("POST", CHECKOUTS)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0] is not None


async def test_merchant_key_rotation_is_followed_with_one_profile_refresh(stack: ConnectorStack) -> None:
    """SIG-09/SIG-11: a response signed by a new kid triggers one profile re-fetch, then verifies."""
    session_id = await _ready(stack)
    fetches = stack.requests.count("GET", "/.well-known/ucp")
    stack.merchant.rotate_signing_key()
    refreshed = await stack.operate(session_id, Operation.REFRESH)
    assert refreshed.http_status == 200 and refreshed.body["status"] == "ready_for_complete"
    assert stack.requests.count("GET", "/.well-known/ucp") == fetches + 1
    again = await stack.operate(session_id, Operation.REFRESH)
    assert again.http_status == 200
    assert stack.requests.count("GET", "/.well-known/ucp") == fetches + 1  # cached now


async def test_cancel_replay_returns_the_same_result(stack: ConnectorStack) -> None:
    session_id = await _ready(stack)
    key = str(uuid.uuid4())
    first = await stack.operate(session_id, Operation.CANCEL, key=key)
    assert await stack.operate(session_id, Operation.CANCEL, key=key) == first
    assert stack.requests.count("POST", "/cancel") == 1


async def test_merchant_4xx_fails_once_with_the_frozen_code(stack: ConnectorStack) -> None:
    """A merchant's 4xx is final, no retry storm; the platform's input refused is its 4xx (issue 12 item 9)."""
    session_id, result = await stack.create({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}], "bogus": 1})
    assert result.http_status == 422 and result.body["code"] == "merchant_input_rejected"
    assert result.body["detail"]["http_status"] == 400 and result.body["pointer"] == "/bogus"
    assert stack.requests.count("POST", CHECKOUTS) == 1
    assert (await stack.view(session_id)).status is None


async def test_bad_merchant_signature_fails_without_retry(stack: ConnectorStack) -> None:
    stack.merchant.faults.bad_signature = True
    _, result = await stack.create(ready_body())
    assert result.http_status == 502 and result.body["code"] == "merchant_signature_invalid"
    assert stack.requests.count("POST", CHECKOUTS) == 1


async def test_all_items_unavailable_is_a_business_outcome(stack: ConnectorStack) -> None:
    """TRN-15: HTTP 200 with ucp.status error and no checkout; GET then finds nothing."""
    session_id, result = await stack.create({"line_items": [{"item": {"id": "no_such_item"}, "quantity": 1}]})
    assert result.http_status == 200 and result.body["ucp"]["status"] == "error"
    view = await stack.view(session_id)
    assert view.status is None and view.checkout is None


async def test_history_holds_no_plaintext_payment_data(
    stack: ConnectorStack, time_skipping_env: WorkflowEnvironment
) -> None:
    """DESIGN invariant 6: every payload in the raw history is encrypted; the token never appears."""
    session_id = await _ready(stack)
    await stack.operate(session_id, Operation.COMPLETE, payment_body("tok_live_SECRET_4111111111111111"))
    raw_client = Client(time_skipping_env.client.service_client, namespace=time_skipping_env.client.namespace)
    history = await raw_client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id)).fetch_history()
    raw = history.to_json()
    assert "tok_live_SECRET" not in raw and "4111111111111111" not in raw and "jane@example.com" not in raw
    scheduled = [
        payload
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        for payload in event.activity_task_scheduled_event_attributes.input.payloads
    ]
    # A local activity's result (merchant_operation carries the merchant's answer) is its marker's "result"
    # ("data" is the SDK's own bookkeeping: sequence, attempt, times).
    local_results = [
        payload
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and "result" in event.marker_recorded_event_attributes.details
        for payload in event.marker_recorded_event_attributes.details["result"].payloads
    ]
    assert local_results, "no local activity result in the history"
    assert {payload.metadata.get("encoding") for payload in [*scheduled, *local_results]} == {b"binary/encrypted"}


async def test_recorded_histories_replay_deterministically(
    stack: ConnectorStack, time_skipping_env: WorkflowEnvironment, payload_keyring: Any
) -> None:
    """DESIGN invariant 5: the workflow code replays its own histories without nondeterminism."""
    sessions = [await _ready(stack) for _ in range(2)]
    await stack.operate(sessions[0], Operation.COMPLETE, payment_body())
    await stack.operate(sessions[1], Operation.CANCEL)
    replayer = Replayer(workflows=[CheckoutSessionWorkflow], data_converter=data_converter(payload_keyring))
    for session_id in sessions:
        history = await stack.client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id)).fetch_history()
        await replayer.replay_workflow(history)


async def test_another_platform_or_merchant_cannot_reach_the_session(stack: ConnectorStack) -> None:
    session_id = await _ready(stack)
    error = await _rejected(stack.gateway.view("other-platform", session_id))
    assert error.code is ErrorCode.NOT_FOUND
    elsewhere = request(ready_body()).model_copy(update={"merchant_id": "another-shop"})
    error = await _rejected(stack.gateway.operate(PLATFORM, session_id, Operation.UPDATE, elsewhere))
    assert error.code is ErrorCode.NOT_FOUND and error.http_status == 404
    same = request(ready_body()).model_copy(update={"merchant_id": MERCHANT})
    assert (await stack.gateway.operate(PLATFORM, session_id, Operation.UPDATE, same)).http_status == 200


async def test_an_answer_is_never_ahead_of_the_audit_trail(stack: ConnectorStack) -> None:
    """DESIGN invariant 7, read-your-writes: once an operation answers, its audit events and index row are stored.

    Without it a platform that lists its sessions, reads the events or fetches the order right after
    the answer would be told the session or order does not exist.
    """
    session_id, created = await stack.create(ready_body())
    assert created.http_status == 201
    indexed = await stack.repository.get_session(session_id, PLATFORM)
    assert indexed is not None and indexed.status == "ready_for_complete"
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    order_id = completed.body["order"]["id"]
    by_order = await stack.repository.find_session_by_merchant_ids(MERCHANT, order_id=order_id)
    assert by_order is not None and by_order.session_id == session_id
    trail = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
    assert [event.action for event in trail.items][-1] == "complete"


async def test_an_audit_store_outage_delays_the_answer_and_loses_nothing(stack: ConnectorStack, tmp_path: Path) -> None:
    """Issue 4 "fail closed": while the store is locked the platform gets a retry hint; the replay answers.

    The merchant call itself is not held back (its outcome is durable in the workflow either way),
    and the operation is audited exactly once.
    """
    session_id = await _ready(stack)
    impatient = CheckoutGateway(
        stack.client, task_queue=stack.settings.temporal.task_queue, wait_bound=dt.timedelta(seconds=1)
    )
    key = str(uuid.uuid4())
    blocker = sqlite3.connect(tmp_path / "connector.db", isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        pending = await _rejected(impatient.operate(PLATFORM, session_id, Operation.CANCEL, request({}, key)))
        assert pending.code is ErrorCode.OPERATION_PENDING and pending.retry_after
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    canceled = await stack.operate(session_id, Operation.CANCEL, {}, key=key)
    assert canceled.http_status == 200 and canceled.body["status"] == "canceled"
    actions = [event["action"] for event in await _chain_is_valid(stack, session_id)]
    assert actions.count("cancel") == 1 and actions.count("merchant.cancel_checkout") == 1


async def test_order_reads_are_validated_before_any_merchant_call(stack: ConnectorStack) -> None:
    """A read of an order this session did not place, or at another merchant, is 404 with no merchant call."""
    session_id = await _ready(stack)
    early = await _rejected(
        stack.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id=MERCHANT, order_id="x"))
    )
    assert early.code is ErrorCode.NOT_FOUND  # no order yet
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    order_id = completed.body["order"]["id"]
    for merchant_id, wanted in ((MERCHANT, "ord_other"), ("other_shop", order_id)):
        error = await _rejected(
            stack.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id=merchant_id, order_id=wanted))
        )
        assert error.code is ErrorCode.NOT_FOUND and error.http_status == 404
    assert stack.requests.count("GET", order_id) == 0
    read = await stack.gateway.read_order(PLATFORM, session_id, OrderRead(merchant_id=MERCHANT, order_id=order_id))
    assert read is not None and read.http_status == 200 and read.body["id"] == order_id
    assert stack.requests.count("GET", order_id) == 1
    assert (await stack.view(session_id)).order == read.body
