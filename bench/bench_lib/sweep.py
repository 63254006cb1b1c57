"""Throughput sweep and memory over sessions: full lifecycles with N in flight, CPU and RSS read around each run.

Levels go 1, 8, 32, 128 in flight and stop once more in flight no longer buys
throughput (saturation: less than 10 % over the best level so far). A failed
lifecycle (an error answer, a timeout) is counted, not retried, and not in the
throughput. Memory is read at the end of each chunk of a run at 8 in flight;
its slope is MB per 1,000 finished sessions.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import httpx

from bench.bench_lib.connector import OperationFailedError, lifecycle
from bench.bench_lib.resources import Meter, cpu_per_checkout, growth_slope
from bench.bench_lib.stats import summary
from ucp_connector.client import PlatformClient

SATURATION_GAIN = 1.10


async def run_level(client: PlatformClient, in_flight: int, lifecycles: int) -> dict[str, Any]:
    timings: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    semaphore = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with semaphore:
            try:
                await lifecycle(client, timings)
            except (OperationFailedError, httpx.HTTPError) as error:
                failures.append(f"{type(error).__name__}: {str(error)[:200]}")

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(lifecycles)))
    elapsed = time.perf_counter() - began
    done = lifecycles - len(failures)
    return {
        "in_flight": in_flight,
        "lifecycles": lifecycles,
        "failed": len(failures),
        "failures_sample": failures[:3],
        "seconds": round(elapsed, 2),
        "lifecycles_per_s": round(done / elapsed, 2),
        "operations": {name: summary(samples) for name, samples in timings.items()},
        "completed": done,
    }


async def sweep(
    client: PlatformClient, meter: Meter, plan: dict[int, int], deadline: float = float("inf")
) -> list[dict[str, Any]]:
    """Each level of ``plan`` (in flight -> lifecycles) in order, until saturation; CPU per checkout per level.

    A level that would not finish by ``deadline`` (``time.monotonic()``, estimated from the best rate so far)
    is recorded as skipped instead of run, so ``--quick`` keeps its time.
    """
    levels: list[dict[str, Any]] = []
    best = 0.0
    for in_flight, lifecycles in plan.items():
        if best and time.monotonic() + lifecycles / best > deadline:
            levels.append({"in_flight": in_flight, "skipped": "time budget", "lifecycles": lifecycles})
            break
        before = meter.snapshot()
        level = await run_level(client, in_flight, lifecycles)
        level["cpu_ms_per_checkout"] = cpu_per_checkout(before, meter.snapshot(), level["completed"])
        levels.append(level)
        rate = float(level["lifecycles_per_s"])
        saturated = in_flight > 8 and rate < best * SATURATION_GAIN
        best = max(best, rate)
        if saturated:
            level["saturated"] = True
            break
    return levels


async def memory(client: PlatformClient, meter: Meter, chunks: int, chunk: int, finished_before: int) -> dict[str, Any]:
    """``chunks`` runs of ``chunk`` lifecycles at 8 in flight; RSS of API and worker after each; the slope."""
    points: dict[str, list[tuple[int, float]]] = {"api": [], "worker": []}
    finished = finished_before
    first = meter.snapshot()
    for service in points:
        points[service].append((finished, first.rss_mb[service]))
    failed = 0
    for _ in range(chunks):
        level = await run_level(client, 8, chunk)
        finished += level["completed"]
        failed += level["failed"]
        snap = meter.snapshot()
        for service in points:
            points[service].append((finished, snap.rss_mb[service]))
    measured = finished - finished_before
    return {
        "sessions_measured": measured,
        "failed": failed,
        "extrapolated_to_1000": measured < 1000,
        "points": {service: [[x, round(y, 2)] for x, y in values] for service, values in points.items()},
        "mb_per_1000_sessions": {service: round(growth_slope(values), 3) for service, values in points.items()},
    }
