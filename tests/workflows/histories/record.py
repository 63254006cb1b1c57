"""Record a CheckoutSession history (create -> update -> complete) with the build first on ``sys.path``.

Before a change that alters what the workflow does, record a history with the build that is
running in production and commit it here; the compatibility test replays every file on the new
build, so a missing ``workflow.patched`` fails CI instead of live workflows::

    git worktree add /tmp/previous <commit>
    cd /tmp/previous && PYTHONPATH=/tmp/previous python /path/to/record.py \
        /path/to/tests/workflows/histories/<commit>-create-update-complete.json

Payloads are written without the encrypting codec (the test data holds no secrets), so replay
needs no payload key.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts import checkout_workflow_id
from tests.fixtures.connector_stack import PLATFORM, connector_stack, payment_body, ready_body
from ucp_connector.temporal_binaries import temporal_test_server
from worker import search_attributes as registration
from workflows.types import Operation


async def record() -> str:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()), data_converter=pydantic_data_converter
    )
    await registration.ensure_registered(env.client)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with connector_stack(env, Path(tmp)) as stack:
                session_id, _ = await stack.create({"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]})
                await stack.operate(session_id, Operation.UPDATE, ready_body())
                await stack.operate(session_id, Operation.COMPLETE, payment_body())
                await stack.wait_for(
                    session_id, lambda view: not any(a.startswith("audit") for a in view.pending_actions)
                )
                history = await stack.client.get_workflow_handle(
                    checkout_workflow_id(PLATFORM, session_id)
                ).fetch_history()
                return history.to_json()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(asyncio.run(record()), encoding="utf-8")
