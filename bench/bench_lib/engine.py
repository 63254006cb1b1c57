"""The engine bound: what Temporal alone costs for a session's shape, with no work in the workflow.

A no-op workflow is started and then receives three Updates (``create``,
``update``, ``complete``; the last one ends it): the same number of engine round
trips a connector lifecycle makes, none of the connector's code. Measured
against the same in-memory dev server as the connector, with a worker in this
process on its own task queue (default sandbox, as the connector's worker).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bench_lib.stats import summary

OPERATIONS = ("create", "update", "complete")


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


async def measure(address: str, sequential: int, concurrent: int, in_flight: int = 8) -> dict[str, Any]:
    client = await Client.connect(address)
    task_queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[NoopWorkflow]):
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
    return {
        "sequential": {name: summary(samples) for name, samples in timings.items()},
        "noop_update_p50_ms": summary(timings["update"] + timings["complete"])["p50_ms"],
        "concurrent": {
            "in_flight": in_flight,
            "lifecycles": concurrent,
            "lifecycles_per_s": round(concurrent / elapsed, 2),
        },
    }
