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

from starlette.types import Message, Receive, Scope, Send

from api.gateway import CheckoutGateway
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
    impatient = CheckoutGateway(
        stack.client, task_queue=stack.settings.temporal.task_queue, wait_bound=dt.timedelta(seconds=1)
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


async def _count(held: HeldAnswers) -> int:
    return held.held


async def _trail(stack: ConnectorStack, session_id: str) -> list[str]:
    page = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
    return [event.action for event in page.items]


def _merchant_gets(trail: list[str]) -> int:
    return trail.count("merchant.get_checkout")
