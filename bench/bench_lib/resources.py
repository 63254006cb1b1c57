"""CPU and memory of the stack's processes (psutil): per service, read before and after a phase.

Also the machine's own speed (:func:`cpu_probe_ms`): on a shared VM the same code took 1.5-2x as long an hour
apart with nothing else of ours running (docs/perf/profile-round5.md), which no load average shows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]  # psutil ships no type hints


@dataclass(frozen=True)
class Snapshot:
    cpu_seconds: dict[str, float]
    rss_mb: dict[str, float]


class Meter:
    """Reads each service's process (and its children, if any) by pid; ``bench`` is this process."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.bench = psutil.Process()

    def _tree(self, name: str) -> list[psutil.Process]:
        if name == "bench":  # the platform side alone: the services are this process's children
            return [self.bench]
        process = self.processes[name]
        try:
            return [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def snapshot(self) -> Snapshot:
        cpu: dict[str, float] = {}
        rss: dict[str, float] = {}
        for name in [*self.processes, "bench"]:
            cpu[name], rss[name] = 0.0, 0.0
            for member in self._tree(name):
                try:
                    times = member.cpu_times()
                    cpu[name] += times.user + times.system
                    rss[name] += member.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
        return Snapshot(cpu, rss)


def cpu_per_checkout(before: Snapshot, after: Snapshot, checkouts: int) -> dict[str, float]:
    """CPU milliseconds per finished checkout, per service, plus the connector's total (bench excluded)."""
    split = {
        name: round((after.cpu_seconds[name] - before.cpu_seconds[name]) * 1000 / max(checkouts, 1), 2)
        for name in after.cpu_seconds
    }
    split["total_connector"] = round(sum(value for name, value in split.items() if name != "bench"), 2)
    return split


def growth_slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (sessions, MB) points, in MB per 1,000 sessions (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 1000


PROBE_ITERATIONS = 1_000_000


def cpu_probe_ms(runs: int = 5) -> float:
    """Median ms of a fixed pure-Python loop: the same figure on a faster or slower share of the host's CPU."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        total = 0
        for number in range(PROBE_ITERATIONS):
            total += number
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 1)
