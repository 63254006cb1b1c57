"""Throughput sweep and memory over sessions: full lifecycles with N in flight, CPU and RSS read around each run.

Levels go 1, 8, 32, 128 in flight and stop once more in flight no longer buys
throughput (saturation: from 8 in flight on, less than 10 % over the best level so far). A failed
lifecycle (an error answer, a timeout) is counted, not retried, and not in the
throughput. Memory is read after the sequential runs (everything warm), after
each level and after each further chunk at 8 in flight; its least-squares slope
is MB per 1,000 finished sessions.
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


class MemoryTrack:
    """RSS of API and worker against the number of finished sessions, sampled after each run."""

    SERVICES = ("api", "worker")

    def __init__(self, meter: Meter, finished: int) -> None:
        self.meter = meter
        self.first = self.finished = finished
        self.failed = 0
        self.points: dict[str, list[tuple[int, float]]] = {service: [] for service in self.SERVICES}
        self.sample(0, 0)

    def sample(self, completed: int, failed: int) -> None:
        self.finished += completed
        self.failed += failed
        snapshot = self.meter.snapshot()
        for service in self.SERVICES:
            self.points[service].append((self.finished, snapshot.rss_mb[service]))

    def result(self) -> dict[str, Any]:
        measured = self.finished - self.first
        return {
            "sessions_measured": measured,
            "failed": self.failed,
            "extrapolated_to_1000": measured < 1000,
            "points": {name: [[x, round(y, 2)] for x, y in values] for name, values in self.points.items()},
            "mb_per_1000_sessions": {name: round(growth_slope(values), 3) for name, values in self.points.items()},
            # Steady state: caches (the worker's sticky workflow cache above all) have filled by then, or not.
            "mb_per_1000_sessions_last_half": {
                name: round(growth_slope(values[len(values) // 2 :]), 3) for name, values in self.points.items()
            },
        }


async def sweep(
    client: PlatformClient, meter: Meter, plan: dict[int, int], track: MemoryTrack, deadline: float = float("inf")
) -> list[dict[str, Any]]:
    """Each level of ``plan`` (in flight -> lifecycles) in order, until saturation; CPU per checkout per level.

    A level above 8 in flight that would not finish by ``deadline`` (``time.monotonic()``, estimated from the
    best rate so far) is recorded as skipped instead of run, so ``--quick`` keeps its time; 1 and 8 always run.
    """
    levels: list[dict[str, Any]] = []
    best = 0.0
    for in_flight, lifecycles in plan.items():
        if in_flight > 8 and best and time.monotonic() + lifecycles / best > deadline:
            levels.append({"in_flight": in_flight, "skipped": "time budget", "lifecycles": lifecycles})
            break
        before = meter.snapshot()
        level = await run_level(client, in_flight, lifecycles)
        level["cpu_ms_per_checkout"] = cpu_per_checkout(before, meter.snapshot(), level["completed"])
        track.sample(level["completed"], level["failed"])
        levels.append(level)
        rate = float(level["lifecycles_per_s"])
        saturated = in_flight >= 8 and rate < best * SATURATION_GAIN
        best = max(best, rate)
        if saturated:
            level["saturated"] = True
            break
    return levels


async def memory(client: PlatformClient, track: MemoryTrack, chunks: int, chunk: int) -> dict[str, Any]:
    """``chunks`` more runs of ``chunk`` lifecycles at 8 in flight, sampled like the sweep's; the slope of all."""
    for _ in range(chunks):
        level = await run_level(client, 8, chunk)
        track.sample(level["completed"], level["failed"])
    return track.result()
