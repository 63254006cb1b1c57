"""A session's status never goes backwards, and a GET agrees with what the API answered (issue 11, item 5).

Real worker, real reference merchant on loopback (the time-skipping server).
Before: a poll reply the merchant sent before the order existed, delivered
after the order webhook had marked the session ``completed``, moved it back to
``complete_in_progress`` (seen under worker kills); and while a complete was
still running after the API's bounded wait had answered ``complete_in_progress``,
the Query said ``ready_for_complete``. Covers CMP-03 and ORD-18 ordering.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowUpdateInput, WorkflowUpdateHandle

from api.gateway import CheckoutGateway
from contracts import ErrorCode, UcpError
from tests.fixtures.connector_stack import PLATFORM, ConnectorStack, payment_body, ready_body, request
from tests.fixtures.waiting import eventually
from workflows.types import Operation, OrderEvent


class HeldAnswers:
    """In front of the merchant: its checkout GET answers are computed at once but delivered only on release.

    What a slow network (or a worker paused after the merchant answered) does to a poll.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.held = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or "/checkout-sessions/" not in scope["path"]:
            await self.app(scope, receive, send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        self.held += 1
        await self.release.wait()
        for message in answer:
            await send(message)


async def _ready(stack: ConnectorStack) -> str:
    session_id, result = await stack.create(ready_body())
    assert result.body["status"] == "ready_for_complete", result.body
    return session_id


async def test_a_poll_answer_older_than_the_order_webhook_is_dropped(stack: ConnectorStack) -> None:
    session_id = await _ready(stack)
    stack.merchant.config.async_completion_seconds = 3600
    result = await stack.operate(session_id, Operation.COMPLETE, payment_body("async_tok"))
    assert result.body["status"] == "complete_in_progress"
    held = HeldAnswers(stack.requests.app)
    stack.requests.app = held
    try:
        # A poll reads the merchant (still complete_in_progress); its answer is held on the way back.
        await eventually(lambda: _count(held), lambda count: count >= 1, 60)
        stack.clock.advance(hours=2)
        await stack.merchant.tick()  # now the merchant completes and the order exists
        view = await stack.view(session_id)
        assert view.merchant_checkout_id is not None
        order = await stack.merchant.order_for_checkout(view.merchant_checkout_id)
        assert order is not None
        snapshot = {"id": order.id, "checkout_id": view.merchant_checkout_id, "permalink_url": "x", "currency": "USD"}
        event = OrderEvent(webhook_id="wh-1", received_at=dt.datetime.now(dt.UTC), order=snapshot)
        await stack.gateway.order_event(PLATFORM, session_id, event)
        await stack.wait_for(session_id, lambda v: v.status == "completed")
        gets_before = _merchant_gets(await _trail(stack, session_id))
    finally:
        held.release.set()  # the stale "complete_in_progress" answer arrives now
    await eventually(lambda: _trail(stack, session_id), lambda trail: _merchant_gets(trail) > gets_before, 60)
    view = await stack.view(session_id)
    assert view.status == "completed" and view.checkout is not None and view.checkout["status"] == "completed"
    assert [change.status for change in view.status_history][-1] == "completed"
    assert "complete_in_progress" not in [change.status for change in view.status_history][-1:]


async def test_a_get_during_a_running_complete_says_complete_in_progress(stack: ConnectorStack) -> None:
    """The API's bounded wait ran out and answered complete_in_progress; the Query (a GET) says the same."""
    session_id = await _ready(stack)
    stack.merchant.faults.operations = {"complete_checkout"}
    # Every attempt hangs (a first fast attempt and its retry alike) until released, then is processed.
    stack.merchant.faults.hang_count, stack.merchant.faults.hang_seconds = 5, 600
    stack.merchant.faults.hang_then = "process"
    # Longer than the local first attempt (LOCAL_ATTEMPT, 5 s), which holds the update's acceptance.
    impatient = CheckoutGateway(
        stack.client, task_queue=stack.settings.temporal.task_queue, wait_bound=dt.timedelta(seconds=10)
    )
    try:
        answered = await impatient.operate(PLATFORM, session_id, Operation.COMPLETE, request(payment_body()))
        assert answered.body["status"] == "complete_in_progress", answered.body
        view = await stack.view(session_id)
        assert view.status == "complete_in_progress" and view.checkout is not None
        assert view.checkout["status"] == "complete_in_progress"
    finally:
        stack.merchant.asgi.release_hangs()
    done = await stack.wait_for(session_id, lambda v: v.status == "completed", seconds=90)
    assert done.checkout is not None and done.checkout["status"] == "completed"


class UpdatesNeverArrive(Interceptor):
    """A client whose Workflow Updates never reach the server (queries and the rest do).

    What the platform sees when its ``complete`` was admitted but lost before the workflow
    accepted it: the Temporal server restarted while the accepting task ran the first
    merchant attempt (an admitted update lives in the server's memory until it is accepted).
    """

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Unsent(next)


class _Unsent(OutboundInterceptor):
    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_complete_never_accepted_is_pending_not_in_progress(stack: ConnectorStack) -> None:
    """Issue 11.5: the API says ``complete_in_progress`` only for a complete the session accepted.

    Before, once the wait for acceptance ran out the API answered 200 with the session's checkout
    relabelled ``complete_in_progress`` whatever the session said; for a complete that never
    arrived (a chaos run lost one with a Temporal restart) nothing was in progress, the platform
    did not retry, and the session stayed ``ready_for_complete`` for good. Now it is ``202
    operation_pending``, and the replay with the same key completes the checkout once (IDM-05).
    """
    session_id = await _ready(stack)
    config = stack.client.config()
    config["interceptors"] = [*config["interceptors"], UpdatesNeverArrive()]
    lossy = CheckoutGateway(
        Client(**config), task_queue=stack.settings.temporal.task_queue, wait_bound=dt.timedelta(seconds=2)
    )
    key = "complete-lost-on-the-way"
    with pytest.raises(UcpError) as pending:
        await lossy.operate(PLATFORM, session_id, Operation.COMPLETE, request(payment_body(), key))
    assert pending.value.code is ErrorCode.OPERATION_PENDING
    assert (await stack.view(session_id)).status == "ready_for_complete"
    replayed = await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key)
    assert replayed.body["status"] == "completed", replayed.body
    view = await stack.view(session_id)
    assert view.merchant_checkout_id is not None
    assert await stack.merchant.order_for_checkout(view.merchant_checkout_id) is not None


async def _count(held: HeldAnswers) -> int:
    return held.held


async def _trail(stack: ConnectorStack, session_id: str) -> list[str]:
    page = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
    return [event.action for event in page.items]


def _merchant_gets(trail: list[str]) -> int:
    return trail.count("merchant.get_checkout")
