"""The engine bound: what Temporal alone costs for a session's shape, with no work in the workflow.

A no-op workflow is started and then receives three Updates (``create``,
``update``, ``complete``; the last one ends it): the same number of engine round
trips a connector lifecycle makes, none of the connector's code. Measured
against the same in-memory dev server as the connector, with a worker in this
process on its own task queue (default sandbox, as the connector's worker).

Then the same Updates with the connector's *shape* and still no work: each runs
one no-op local activity (the operation's merchant attempt, issue 13) and
upserts the status search attribute (``UcpStatus``, a new value each time, as a
status change does). The difference to the no-op is what the shape alone takes
of the per-operation budget (direct + engine + 5 ms) before any of the
connector's own work: reported, not a target.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections import defaultdict
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bench_lib.stats import summary
from workflows.search_attributes import STATUS

OPERATIONS = ("create", "update", "complete")
SHAPES = ("local_activity", "local_activity_and_status")
SHAPED_UPDATES = 3  # per workflow, as a lifecycle's operations


@activity.defn(name="BenchNoopLocal")
async def noop_local(name: str) -> str:
    return name


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.finished)

    @workflow.update
    async def operate(self, name: str) -> str:
        if name == "complete":
            self.finished = True
        return name

    @workflow.update
    async def shaped(self, shape: str) -> str:
        """One operation's shape, no work: a no-op local activity, then (``..._and_status``) a status upsert."""
        await workflow.execute_local_activity(noop_local, shape, start_to_close_timeout=dt.timedelta(seconds=10))
        if shape.endswith("_and_status"):
            workflow.upsert_search_attributes(
                [STATUS.value_set(f"bench-{workflow.info().get_current_history_length()}")]
            )
        return shape

    @workflow.query
    def peek(self) -> bool:
        return self.finished


async def _lifecycle(client: Client, task_queue: str, timings: dict[str, list[float]]) -> None:
    start = time.perf_counter()
    handle = await client.start_workflow(NoopWorkflow.run, id=f"bench-noop-{uuid.uuid4()}", task_queue=task_queue)
    timings["start"].append((time.perf_counter() - start) * 1000)
    for name in OPERATIONS:
        start = time.perf_counter()
        await handle.execute_update(NoopWorkflow.operate, name)
        timings[name].append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    await handle.query(NoopWorkflow.peek)
    timings["query"].append((time.perf_counter() - start) * 1000)
    await handle.result()


async def _shaped(client: Client, task_queue: str, shape: str, timings: dict[str, list[float]]) -> None:
    handle = await client.start_workflow(NoopWorkflow.run, id=f"bench-shape-{uuid.uuid4()}", task_queue=task_queue)
    for _ in range(SHAPED_UPDATES):
        start = time.perf_counter()
        await handle.execute_update(NoopWorkflow.shaped, shape)
        timings[shape].append((time.perf_counter() - start) * 1000)
    await handle.execute_update(NoopWorkflow.operate, "complete")
    await handle.result()


async def measure(address: str, sequential: int, concurrent: int, in_flight: int = 8) -> dict[str, Any]:
    client = await Client.connect(address)
    task_queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[NoopWorkflow], activities=[noop_local]):
        warm: dict[str, list[float]] = defaultdict(list)
        await _lifecycle(client, task_queue, warm)
        timings: dict[str, list[float]] = defaultdict(list)
        for _ in range(sequential):
            await _lifecycle(client, task_queue, timings)
        semaphore = asyncio.Semaphore(in_flight)
        parallel: dict[str, list[float]] = defaultdict(list)

        async def bounded() -> None:
            async with semaphore:
                await _lifecycle(client, task_queue, parallel)

        began = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(concurrent)))
        elapsed = time.perf_counter() - began
        shaped: dict[str, list[float]] = defaultdict(list)
        for _ in range(max(1, sequential // 2)):  # alternating, so both shapes see the same machine
            for shape in SHAPES:
                await _shaped(client, task_queue, shape, shaped)
    return {
        "sequential": {name: summary(samples) for name, samples in timings.items()},
        "noop_update_p50_ms": summary(timings["update"] + timings["complete"])["p50_ms"],
        "shaped_update_p50_ms": {shape: summary(shaped[shape])["p50_ms"] for shape in SHAPES},
        "concurrent": {
            "in_flight": in_flight,
            "lifecycles": concurrent,
            "lifecycles_per_s": round(concurrent / elapsed, 2),
        },
    }
