"""Issue 12.11: a session whose create update never arrives closes itself, and says why.

The create is an Update-With-Start; a Temporal kill 40 ms after the start can
lose the update while the workflow survives (the platform was answered "503,
nothing was executed"). Before this, such a workflow waited in ``creating``
forever. It now fails after ``CREATE_DEADLINE`` with the reason in its Query
(``session show``), and the platform's retry of the create with the same
Idempotency-Key starts a fresh session (the reuse policy allows a failed run).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.types import MerchantOperation
from contracts import checkout_session_id, checkout_workflow_id
from tests.fixtures.connector_stack import PLATFORM, request
from tests.fixtures.temporal import advance
from tests.workflows.scripted import ScriptedSession, checkout, scripted_session
from ucp_connector.session_report import status_text
from workflows import lifecycle
from workflows.types import CURRENT_BEHAVIOUR, WORKFLOW_TYPE, SessionStart, SessionView

LINE_ITEMS = {"line_items": [{"item": {"id": "mug"}, "quantity": 1}]}


@pytest.fixture
async def scripted(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ScriptedSession]:
    async with scripted_session(time_skipping_env.client) as session:
        yield session


async def test_a_session_whose_create_never_arrives_closes_and_says_why(time_travel_env: WorkflowEnvironment) -> None:
    async with scripted_session(time_travel_env.client) as scripted:
        await _never_created_then_retried(scripted, time_travel_env)


async def _never_created_then_retried(scripted: ScriptedSession, env: WorkflowEnvironment) -> None:
    key = str(uuid.uuid4())
    session_id = checkout_session_id(PLATFORM, key)
    start = SessionStart(platform_id=PLATFORM, session_id=session_id, merchant_id="shop", behaviour=CURRENT_BEHAVIOUR)
    task_queue = scripted.gateway._task_queue
    handle = await scripted.client.start_workflow(
        WORKFLOW_TYPE, start, id=checkout_workflow_id(PLATFORM, session_id), task_queue=task_queue
    )
    await advance(env, lifecycle.CREATE_DEADLINE + dt.timedelta(minutes=1))
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 60)
    assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == lifecycle.NEVER_CREATED
    view: SessionView = await handle.query("view", result_type=SessionView)
    assert view.status is None and view.closed_reason == lifecycle.NEVER_CREATED
    assert "closed without a checkout (create_never_arrived)" in status_text(view, [])
    assert not scripted.fakes.calls  # nothing reached the merchant

    # The platform's retry with the same key starts afresh and creates the session.
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    again_id, created = await scripted.create_with(scripted.context(), request(LINE_ITEMS, key))
    assert (again_id, created.http_status) == (session_id, 201)


async def test_a_create_that_arrives_with_the_start_leaves_no_timer_in_the_history(
    scripted: ScriptedSession,
) -> None:
    """The deadline costs a normal session nothing: its timer never reaches the server (issue 13's budget)."""
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    session_id, _ = await scripted.create(LINE_ITEMS)
    timers = [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        async for event in scripted.handle(session_id).fetch_history_events()
        if event.HasField("timer_started_event_attributes")
    ]
    assert lifecycle.CREATE_DEADLINE not in timers
