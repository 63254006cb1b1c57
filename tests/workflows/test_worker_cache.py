"""Sessions stay correct when the worker keeps few of them in memory (issue 13: a bounded sticky cache).

With ``max_cached_workflows`` below the number of open sessions, a session's next
operation finds its workflow evicted and replays its history first; the local
activity of the operation and its audit trail must come out exactly as with a
warm cache (DESIGN.md invariants 4, 5 and 7).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.fixtures.bodies import payment_body, ready_body
from tests.fixtures.connector_stack import ConnectorStack, connector_stack
from worker.main import WorkerOptions
from workflows.types import Operation


@pytest.fixture
async def cold_stack(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[ConnectorStack]:
    async with connector_stack(
        time_skipping_env, tmp_path, worker_options=WorkerOptions(max_cached_workflows=1)
    ) as stack:
        yield stack


async def test_sessions_evicted_between_operations_complete_with_one_order_each(cold_stack: ConnectorStack) -> None:
    async def lifecycle() -> str:
        session_id, created = await cold_stack.create(ready_body())
        assert created.http_status == 201, created.body
        completed = await cold_stack.operate(session_id, Operation.COMPLETE, payment_body())
        assert completed.body["status"] == "completed", completed.body
        return session_id

    sessions = await asyncio.gather(*(lifecycle() for _ in range(4)))
    assert await cold_stack.merchant.count_orders() == 4
    for session_id in sessions:
        report = await cold_stack.repository.verify_chains(session_id)
        assert report.ok and report.events >= 6, report
