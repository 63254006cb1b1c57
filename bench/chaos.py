"""Chaos on loopback: signed checkouts while workers, Temporal and the API are killed and the merchant misbehaves.

    .venv/bin/python -m bench.chaos [--quick] [--flows N] [--concurrency C] [--worker-kills K]

The connector runs as ``ucp-connector dev`` runs it, but each service is a
child this script kills: two workers (SIGKILLed in turn, ``--worker-kills``
times, each restarted), the Temporal dev server on a SQLite file (killed and
restarted on the same file), the API (killed and restarted). The reference
merchant runs in this process so its faults can be switched while flows run:
503 bursts, hangs that end in a dropped connection, and commit-then-drop on
``complete``; the audit store (SQLite) is locked for a few seconds. Platforms
drive create -> update -> complete through the package's platform client
(signed, verified, retried with the same Idempotency-Key).

Then it reconciles: every session a create answered is read back; merchant
orders are counted against completed sessions; every answer the platform
saw is counted by status and code (a 503 with Retry-After while a dependency
is down is counted apart: that is the contract, not an error); the audit hash
chains are verified. Prints a table, writes ``bench/results/chaos.json``, and
exits 1 unless lost = 0, duplicate orders = 0, platform-visible 5xx = 0 and the
chains verify. Sessions whose complete lost its answer are read until they
settle (up to 2 minutes); any still reconciling (order placed, session not yet
completed: the workflow polls the merchant with backoff) are reported apart.
Everything binds 127.0.0.1; the run is bounded by ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog

from bench.bench_lib.stack import CLI, RATE_LIMIT
from reference_merchant import MerchantConfig, ReferenceMerchant
from reference_merchant.config import TrustedPlatform
from tests.fixtures.bodies import payment_body, ready_body
from tests.fixtures.http import free_ports, serve
from ucp_connector.client import PlatformClient, RetryPolicy
from ucp_connector.commands.demo import DEMO_PROFILE_URL
from ucp_connector.dev_children import WORKER_READY, http_ok, log_says
from ucp_connector.dev_layout import DEMO_MERCHANT, DevLayout, DevPorts, connector_profile_for_merchant, prepare
from ucp_connector.processes import Child, tcp_answers
from ucp_connector.temporal_binaries import temporal_cli
from worker import search_attributes as registration

RESULTS = Path(__file__).parent / "results" / "chaos.json"
BASE = f"/merchants/{DEMO_MERCHANT}/checkout-sessions"
PATIENT = RetryPolicy(attempts=60, first_delay=0.25, max_delay=3.0, total_seconds=150.0)


@dataclass
class Tally:
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    created: list[str] = field(default_factory=list)
    chaos: collections.Counter[str] = field(default_factory=collections.Counter)


class CountingTransport(httpx.AsyncBaseTransport):
    """Every answer the platform sees, by status and frozen code (retried attempts included)."""

    def __init__(self, tally: Tally) -> None:
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=64))
        self._tally = tally

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code >= 500:
            await response.aread()
            try:
                code = str(json.loads(response.content).get("code", "?"))
            except (ValueError, AttributeError):
                code = "unsigned"
            kind = "retry_after" if response.status_code == 503 and "retry-after" in response.headers else "error"
            self._tally.statuses[f"{response.status_code} {code} ({kind})"] += 1
        else:
            self._tally.statuses[str(response.status_code)] += 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _child(name: str, argv: list[str], ready: Any, log: Path, env: dict[str, str] | None = None) -> Child:
    return Child(name, argv, ready, log, env=env)


def _kill(child: Child) -> None:
    if child.process is not None and child.process.poll() is None:
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


async def _restart(child: Child, ready_within: float = 90.0) -> None:
    await asyncio.to_thread(child.start)
    await asyncio.to_thread(child.wait_ready, ready_within)


async def _flow(client: PlatformClient, tally: Tally) -> None:
    try:
        created = await client.request("POST", BASE, {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]})
        if created.status_code != 201:
            tally.outcomes[f"create {created.status_code}"] += 1
            return
        session_id = str(created.json()["id"])
        tally.created.append(session_id)
        updated = await client.request("PUT", f"{BASE}/{session_id}", {"id": session_id, **ready_body()})
        if updated.status_code != 200:
            tally.outcomes[f"update {updated.status_code}"] += 1
            return
        completed = await client.request("POST", f"{BASE}/{session_id}/complete", payment_body())
        status = completed.json().get("status") if completed.status_code == 200 else completed.status_code
        tally.outcomes[f"complete {status}"] += 1
    except (httpx.TransportError, RuntimeError) as failure:
        tally.outcomes[f"raised {type(failure).__name__}"] += 1


async def _chaos(
    stop: asyncio.Event, tally: Tally, workers: list[Child], temporal: Child, api: Child, merchant: ReferenceMerchant,
    database: Path, worker_kills: int, interval: float,
) -> None:  # fmt: skip
    step = 0
    while not stop.is_set() and tally.chaos["worker_sigkill"] < worker_kills:
        step += 1
        victim = workers[step % len(workers)]
        _kill(victim)
        tally.chaos["worker_sigkill"] += 1
        await _restart(victim)
        if step % 7 == 2:
            merchant.faults.unavailable_count = 5  # a 503 burst
            tally.chaos["merchant_503_burst"] += 1
        if step % 7 == 4:
            merchant.faults.operations = {"complete_checkout"}
            merchant.faults.drop_after_commit_count = 1  # commit, then drop the answer
            merchant.faults.hang_count, merchant.faults.hang_seconds, merchant.faults.hang_then = 1, 6.0, "drop"
            tally.chaos["merchant_commit_then_drop"] += 1
            tally.chaos["merchant_hang"] += 1
        if step % 11 == 5:
            lock = sqlite3.connect(database, isolation_level=None, timeout=5)
            lock.execute("BEGIN EXCLUSIVE")
            await asyncio.sleep(3)
            lock.execute("ROLLBACK")
            lock.close()
            tally.chaos["audit_store_lock_3s"] += 1
        if step == 3 or step % 20 == 12:
            _kill(temporal)
            tally.chaos["temporal_kill"] += 1
            await asyncio.sleep(2)
            await _restart(temporal)
        if step == 6 or step % 20 == 17:
            _kill(api)
            tally.chaos["api_kill"] += 1
            await _restart(api)
        await asyncio.sleep(interval * random.uniform(0.5, 1.5))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="ucp-chaos-") as tmp:
        state = Path(tmp) / "state"
        temporal_port, ui, api_port, merchant_port, codec = free_ports(5)
        ports = DevPorts("127.0.0.1", temporal_port, ui, api_port, merchant_port, codec)
        layout = DevLayout(state)
        old = os.umask(0o077)
        try:
            await asyncio.to_thread(prepare, layout, ports)  # it runs its own event loop (the migration)
        finally:
            os.umask(old)
        with layout.config_file.open("a", encoding="utf-8") as config:
            config.write(RATE_LIMIT)
        env = {"UCP_CONFIG": str(layout.config_file.resolve()), "UCP_STATE_DIR": str(state.resolve())}
        cli = [sys.executable, *CLI[1:]]
        logs = layout.logs_dir
        logs.mkdir(parents=True, exist_ok=True)
        temporal_argv = [str(temporal_cli()), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        temporal_argv += ["--port", str(temporal_port), "--db-filename", str(state / "temporal-chaos.db")]
        temporal_argv += ["--log-level", "error", *registration.dev_server_flags()]
        temporal = _child(
            "temporal", temporal_argv, lambda: tcp_answers("127.0.0.1", temporal_port), logs / "temporal.log"
        )
        workers = [
            _child(f"worker-{n}", [*cli, "worker"], log_says(logs / f"worker-{n}.log", WORKER_READY),
                   logs / f"worker-{n}.log", env)
            for n in (1, 2)
        ]  # fmt: skip
        api = _child(
            "api", [*cli, "api", "--host", "127.0.0.1", "--port", str(api_port)],
            http_ok(f"http://127.0.0.1:{api_port}/healthz"), logs / "api.log", env,
        )  # fmt: skip
        merchant = ReferenceMerchant(
            MerchantConfig(
                base_url=f"http://127.0.0.1:{merchant_port}",
                allow_insecure_loopback=True,
                async_completion_seconds=0,
                platforms=[TrustedPlatform(profile_url=connector_profile_for_merchant(ports))],
            )
        )
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", merchant_port))
        sock.listen(256)
        sock.setblocking(False)
        started = time.monotonic()
        async with serve(merchant.asgi, sock):
            children = [temporal, *workers, api]
            try:
                for child in children:
                    await _restart(child, ready_within=120)
                transport = CountingTransport(tally)
                async with PlatformClient(
                    f"http://127.0.0.1:{api_port}", layout.demo_platform_key(), profile_url=DEMO_PROFILE_URL,
                    retry=PATIENT, transport=transport,
                ) as client:  # fmt: skip
                    stop = asyncio.Event()
                    chaos = asyncio.create_task(
                        _chaos(stop, tally, workers, temporal, api, merchant, state / "connector.db",
                               args.worker_kills, args.interval)
                    )  # fmt: skip
                    started_flows = 0

                    async def lane() -> None:
                        # Flows keep coming while the chaos lasts, and at least --flows of them in all.
                        nonlocal started_flows
                        while not chaos.done() or started_flows < args.flows:
                            started_flows += 1
                            await _flow(client, tally)

                    lanes = asyncio.gather(*(lane() for _ in range(args.concurrency)))
                    await asyncio.wait_for(asyncio.gather(lanes, chaos), args.deadline)
                    stop.set()
                    merchant.faults.reset()
                    report = await _reconcile(client, tally, merchant, layout, env)
            finally:
                for child in reversed(children):
                    child.stop(grace=5)
        report["seconds"] = round(time.monotonic() - started, 1)
    return report


async def _reconcile(
    client: PlatformClient, tally: Tally, merchant: ReferenceMerchant, layout: DevLayout, env: dict[str, str]
) -> dict[str, Any]:
    final: collections.Counter[str] = collections.Counter()
    settle_until = time.monotonic() + 120  # a complete whose answer was dropped is still being retried: let it land
    for session_id in tally.created:
        while True:
            response = await client.request("GET", f"{BASE}/{session_id}")
            status = "lost" if response.status_code == 404 else str(response.json().get("status", response.status_code))
            if status in ("lost", "completed", "canceled") or time.monotonic() > settle_until:
                break
            await asyncio.sleep(1.0)
        final[status] += 1
    orders = await merchant.count_orders()
    verify = await asyncio.create_subprocess_exec(
        sys.executable, *CLI[1:], "audit", "verify", env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await verify.communicate()
    platform_5xx = {status: n for status, n in tally.statuses.items() if status.startswith("5") and "(error)" in status}
    return {
        "sessions": len(tally.created),
        "completed": final["completed"],
        "canceled": final["canceled"],
        "final_status": dict(final),
        "lost": final["lost"],
        "merchant_orders": orders,
        # Each session makes one merchant checkout (derived outbound keys), which holds at most one order:
        # more orders than sessions is a second order for some session.
        "duplicate_orders": max(0, orders - len(tally.created)),
        # A complete whose answer was lost is reconciled by polling the merchant (backoff up to a minute):
        # its order exists, the session reaches completed a little later. Reported, not an error.
        "still_reconciling": max(0, orders - final["completed"]),
        "platform_5xx": platform_5xx,
        "retry_after_503": {s: n for s, n in tally.statuses.items() if "(retry_after)" in s},
        "flow_outcomes": dict(tally.outcomes),
        "chaos": dict(tally.chaos),
        "audit_verify_ok": verify.returncode == 0,
        "audit_verify": output.decode(errors="replace").strip().splitlines()[-1:] or [""],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: >= 24 flows, 8 worker kills, < 3 minutes")
    parser.add_argument("--flows", type=int, default=400, help="at least this many flows (more while chaos lasts)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--worker-kills", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between chaos steps (jittered)")
    parser.add_argument("--deadline", type=float, default=1800.0, help="bound on the whole run, seconds")
    args = parser.parse_args()
    # The in-process merchant logs every request at debug; the table is what this script prints.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.quick:
        args.flows, args.concurrency, args.worker_kills, args.interval, args.deadline = 24, 6, 8, 0.2, 170.0
    report = asyncio.run(run(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    width = max(len(key) for key in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    healthy = report["lost"] == 0 and report["duplicate_orders"] == 0 and not report["platform_5xx"]
    with contextlib.suppress(BrokenPipeError):
        print("OK" if healthy and report["audit_verify_ok"] else "FAILED")
    sys.exit(0 if healthy and report["audit_verify_ok"] else 1)


if __name__ == "__main__":
    main()
