"""Checkout flows through the whole connector: what a platform waits for, and how many flows per second.

    .venv/bin/python -m bench.connector_flows [--flows N] [--concurrency C] [--file-db]

The stack of tests/e2e: signed requests over loopback HTTP -> API -> Temporal dev server
(in memory, or a SQLite file with --file-db) -> worker -> reference merchant, audit store on
SQLite. Each flow is create -> update -> complete, every request signed by the platform and
every response verified. First N flows run one after another (latency), then N with C in
flight (throughput). Prints a table and writes bench/results/connector_flows.json.
Figures compare commits on one machine; they are not capacity claims.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import MERCHANT, Connector, running_connector
from tests.fixtures.bodies import payment_body, ready_body
from ucp_connector.local_temporal import start_dev_server

RESULTS = Path(__file__).parent / "results" / "connector_flows.json"
BASE = f"/merchants/{MERCHANT}/checkout-sessions"


async def _flow(connector: Connector, timings: dict[str, list[float]]) -> None:
    async def timed(name: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        response = await connector.call(connector.alpha, method, path, body)
        timings[name].append((time.perf_counter() - start) * 1000)
        assert response.status_code < 300, response.text
        return dict(response.json())

    created = await timed("create", "POST", BASE, {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]})
    await timed("update", "PUT", f"{BASE}/{created['id']}", ready_body())
    await timed("complete", "POST", f"{BASE}/{created['id']}/complete", payment_body())


def _row(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)],
        "max_ms": ordered[-1],
    }


async def main(flows: int, concurrency: int, file_db: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = await start_dev_server(db_file=Path(tmp) / "temporal.db" if file_db else None)
        try:
            limits = {"requests_per_second": 10_000, "burst": 10_000, "max_concurrent": 1_000}
            async with running_connector(env, Path(tmp), alpha_rate_limit=limits, wait_seconds=60) as connector:
                await _flow(connector, {"create": [], "update": [], "complete": []})  # warm-up
                sequential: dict[str, list[float]] = {"create": [], "update": [], "complete": []}
                for _ in range(flows):
                    await _flow(connector, sequential)
                concurrent: dict[str, list[float]] = {"create": [], "update": [], "complete": []}
                semaphore = asyncio.Semaphore(concurrency)

                async def bounded() -> None:
                    async with semaphore:
                        await _flow(connector, concurrent)

                start = time.perf_counter()
                await asyncio.gather(*(bounded() for _ in range(flows)))
                elapsed = time.perf_counter() - start
        finally:
            await env.shutdown()
    return {
        "machine": platform.platform(),
        "temporal_persistence": "sqlite file" if file_db else "in memory",
        "flows": flows,
        "concurrency": concurrency,
        "sequential": {name: _row(samples) for name, samples in sequential.items()},
        "concurrent": {name: _row(samples) for name, samples in concurrent.items()},
        "concurrent_flows_per_second": flows / elapsed,
    }


def _print(result: dict[str, Any]) -> None:
    print(f"connector flows: create -> update -> complete, Temporal {result['temporal_persistence']}")
    print(f"{'phase':<12}{'operation':<10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for phase in ("sequential", "concurrent"):
        for name, row in result[phase].items():
            print(f"{phase:<12}{name:<10}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['max_ms']:>9.1f}")
    print(
        f"throughput: {result['concurrent_flows_per_second']:.1f} flows/s "
        f"({result['flows']} flows, {result['concurrency']} in flight)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--file-db", action="store_true", help="Temporal state in a SQLite file (as in dev)")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.flows, args.concurrency, args.file_db))
    _print(outcome)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2))
    print(f"wrote {RESULTS}")
