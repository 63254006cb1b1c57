"""Record a CheckoutSession history with the build first on ``sys.path``.

Two scenarios: ``create-update-complete`` (the default), and ``continued-as-new``: the second
run of a completed session that continued as new, whose start input carries the whole
``SessionState``, so a change that breaks loading an earlier build's state fails its replay.

Before a change that alters what the workflow does, record a history with the build that is
running in production and commit it here; the compatibility test replays every file on the new
build, so a missing ``workflow.patched`` fails CI instead of live workflows::

    git worktree add /tmp/previous <commit>
    cd /tmp/previous && PYTHONPATH=/tmp/previous python /path/to/record.py \
        /path/to/tests/workflows/histories/<commit>-create-update-complete.json
    cd /tmp/previous && PYTHONPATH=/tmp/previous python /path/to/record.py \
        /path/to/tests/workflows/histories/<commit>-continued-as-new.json continued-as-new

A build whose sessions complete at their terminal status (decision 0001) is recorded with
``--closes-at-terminal`` after the scenario, so the history ends with the close.

Payloads are written without the encrypting codec (the test data holds no secrets), so replay
needs no payload key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts import checkout_workflow_id
from tests.fixtures.connector_stack import PLATFORM, ConnectorStack, connector_stack, payment_body, ready_body, request
from tests.fixtures.waiting import eventually
from ucp_connector.temporal_binaries import temporal_test_server
from worker import search_attributes as registration
from workflows.types import Operation, OrderEvent


async def record(scenario: str = "create-update-complete", closes_at_terminal: bool = False) -> str:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()), data_converter=pydantic_data_converter
    )
    await registration.ensure_registered(env.client)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with connector_stack(env, Path(tmp)) as stack:
                session_id = await SCENARIOS[scenario](stack)
                await stack.wait_for(
                    session_id, lambda view: not any(a.startswith("audit") for a in view.pending_actions)
                )
                handle = stack.client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id))
                if closes_at_terminal:  # let time skip over its grace, so the history ends with the close
                    await handle.result()
                history = await handle.fetch_history()
                return history.to_json()
    finally:
        await env.shutdown()


async def _create_update_complete(stack: ConnectorStack) -> str:
    session_id, _ = await stack.create({"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]})
    await stack.operate(session_id, Operation.UPDATE, ready_body())
    await stack.operate(session_id, Operation.COMPLETE, payment_body())
    return session_id


async def _continued_as_new(stack: ConnectorStack) -> str:
    """Complete, then order webhooks until the session continues as new, and one more in the new run."""
    context = dataclasses.replace(stack.context(), history_limit=100)
    session_id, _ = await stack.create_with(context, request(ready_body()))
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    handle = stack.client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id))
    first_run = (await handle.describe()).run_id
    index = 0

    async def webhook() -> str | None:
        nonlocal index
        index += 1
        order = {"id": completed.body["order"]["id"], "checkout_id": "x", "n": index}
        event = OrderEvent(webhook_id=f"wh-{index}", received_at=dt.datetime.now(dt.UTC), order=order)
        await stack.gateway.order_event(PLATFORM, session_id, event)
        return (await handle.describe()).run_id

    await eventually(webhook, lambda run_id: run_id != first_run, 60)
    await webhook()
    return session_id


SCENARIOS = {"create-update-complete": _create_update_complete, "continued-as-new": _continued_as_new}


if __name__ == "__main__":
    scenario = sys.argv[2] if len(sys.argv) > 2 else "create-update-complete"
    Path(sys.argv[1]).write_text(asyncio.run(record(scenario, "--closes-at-terminal" in sys.argv)), encoding="utf-8")
