"""What tracing costs a checkout create, end to end through the real stack.

    .venv/bin/python -m bench.tracing_overhead [--creates N] [--rounds R]

The stack of tests/e2e (signed API over loopback HTTP → Temporal dev server
in memory → worker → reference merchant) serves R rounds; each round makes N
sequential creates with tracing off, then N with tracing on (every span
exported synchronously into memory: an upper bound on in-process cost, without
network export). Alternating rounds spreads the machine's noise over both.

Prints a table and writes bench/results/tracing_overhead.json. Figures compare
commits on one machine; they are not capacity claims.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from core.telemetry import configure_tracing, shutdown_tracing, with_tracing
from tests.e2e.conftest import MERCHANT, running_connector
from tests.fixtures.connector_stack import ready_body
from ucp_connector.local_temporal import start_dev_server

RESULTS = Path(__file__).parent / "results" / "tracing_overhead.json"


async def _creates(env: WorkflowEnvironment, count: int, traced: bool) -> tuple[list[float], int]:
    exporter = InMemorySpanExporter()
    if traced:
        configure_tracing("bench", exporter=exporter, install_global=False)
    client = with_tracing(env.client)
    timings: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with running_connector(env, Path(tmp), client=client) as stack:
                await stack.call(stack.alpha, "POST", f"/merchants/{MERCHANT}/checkout-sessions", ready_body())  # warm
                for _ in range(count):
                    started = time.perf_counter()
                    response = await stack.call(
                        stack.alpha, "POST", f"/merchants/{MERCHANT}/checkout-sessions", ready_body()
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 201, response.text
    finally:
        shutdown_tracing()
    return timings, len(exporter.get_finished_spans())


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "p50_ms": round(ordered[len(ordered) // 2], 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


async def main(creates: int, rounds: int) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    env = await start_dev_server()
    off: list[float] = []
    on: list[float] = []
    spans = 0
    try:
        for _ in range(rounds):
            off += (await _creates(env, creates, traced=False))[0]
            timings, exported = await _creates(env, creates, traced=True)
            on += timings
            spans += exported
    finally:
        await env.shutdown()
    result = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "tracing_off": _summary(off),
        "tracing_on": _summary(on),
        "spans_per_create": round(spans / (rounds * (creates + 1)), 1),
    }
    result["overhead_p50_ms"] = round(result["tracing_on"]["p50_ms"] - result["tracing_off"]["p50_ms"], 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.creates, args.rounds))
    print(f"{'mode':<12} {'n':>5} {'mean ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for mode in ("tracing_off", "tracing_on"):
        row = outcome[mode]
        print(f"{mode:<12} {row['n']:>5} {row['mean_ms']:>9} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    print(f"overhead p50: {outcome['overhead_p50_ms']} ms; spans per create: {outcome['spans_per_create']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
