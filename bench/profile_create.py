"""Where one create's time goes: py-spy samples of the worker, the API and the merchant, plus the session's history.

    .venv/bin/python -m bench.profile_create [--creates 20] [--rate 250] [--out bench/results/profile.md]

(py-spy comes with the ``bench`` extra; the raw stacks stay in bench/results/profile-SERVICE.txt.)

The connector runs as separate processes (bench/bench_lib/stack.py). For each of
worker, API and merchant in turn, ``py-spy record`` (non-blocking, idle threads
excluded) samples that process while ``--creates`` creates run one after
another; the samples are folded by function into the functions that are
themselves on CPU and by the innermost module of the project on the stack (who
in our code asked for the work). The creates' histories give the
Temporal-side breakdown: workflow tasks, their worker time, each activity.
Temporal's own server is Go and not sampled (its CPU is in bench/run.py's split).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.bench_lib import history
from bench.bench_lib.connector import CREATE, SESSIONS, lifecycle, timed
from bench.bench_lib.stack import RunningStack, process_stack
from contracts import checkout_workflow_id
from ucp_connector.dev_layout import DEMO_PLATFORM

OUT = Path(__file__).parent / "results" / "profile.md"
PROJECT = (
    "workflows/",
    "activities/",
    "storage/",
    "merchants/",
    "contracts/",
    "core/",
    "api/",
    "worker/",
    "reference_merchant/",
)
SERVICES = ("worker", "api", "merchant")


# Leaves that are a thread waiting, not working (py-spy's idle detection misses them in a non-blocking sample).
WAITING = (
    "EpollSelector.select (selectors.py",
    "_connection_worker_thread (aiosqlite/core.py",
    "_worker (concurrent/futures/thread.py",
)


# The worker's parts, by a frame on the stack (first match wins): workflow code runs in the SDK's thread pool.
PARTS = (
    ("sandbox import of workflow modules", "_call_with_frames_removed ("),
    ("workflow activation (workflow task)", "_RunningWorkflow.activate ("),
    ("activity merchant_operation", "merchant_operation ("),
    ("activity call_merchant", "call_merchant ("),
    ("activity write_batch", "write_batch ("),
    ("activity discover_merchant", "discover_merchant ("),
    ("activity notify_platform", "notify_platform ("),
    ("workflow activation, event-loop side (decode, codec, complete)", "_WorkflowWorker._handle_activation ("),
    ("activity start/finish, SDK side (decode, codec, complete)", "_ActivityWorker._handle_start_activity_task ("),
)


def _part(frames: list[str]) -> str:
    for name, marker in PARTS:
        if any(marker in frame for frame in frames):
            return name
    return "other (SDK polling, completions, event loop)"


def _library(frame: str) -> str:
    """The package a frame's file belongs to (``temporalio/worker/workflow_sandbox``: three levels for the SDK)."""
    path = frame.rsplit("(", 1)[-1].split(":")[0]
    parts = path.split("/")
    depth = 3 if parts[0] == "temporalio" else 1
    return "/".join(parts[:depth]) if len(parts) > 1 else path


def fold(raw: str) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks -> on-CPU samples by leaf function, by leaf library, by innermost project
    module on the stack; samples whose leaf is a thread waiting are counted apart."""
    leaves: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    working = waiting = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(WAITING):
            waiting += count
            continue
        working += count
        leaves[frames[-1]] += count
        libraries[_library(frames[-1])] += count
        parts[_part(frames)] += count
        ours = [frame for frame in frames if any(f"({prefix}" in frame for prefix in PROJECT)]
        modules[ours[-1].rsplit("(", 1)[1].split(":")[0] if ours else "(no project frame)"] += count
    found = {"leaves": leaves, "libraries": libraries, "modules": modules, "parts": parts}
    return {**found, "working": working, "waiting": waiting}


def _service_lines(service: str, folded: dict[str, Any], rate: int, creates: int) -> list[str]:
    total = max(folded["working"], 1)
    per_create = 1000 / rate / creates  # ms of on-CPU time one sample stands for, per create
    return [
        f"## {service}: {folded['working'] * per_create:.1f} ms working per create",
        "",
        f"{folded['working']} samples working, {folded['waiting']} in a waiting leaf (not counted).",
        "",
        *(
            ["By part of the worker:", "", *_table(folded["parts"], total, per_create, 8), ""]
            if service == "worker"
            else []
        ),
        "By innermost project module on the stack (who in our code asked for the work):",
        "",
        *_table(folded["modules"], total, per_create, 12),
        "",
        "By library of the function on CPU:",
        "",
        *_table(folded["libraries"], total, per_create, 10),
        "",
        "By function on CPU (leaf):",
        "",
        *_table(folded["leaves"], total, per_create, 15),
        "",
    ]


async def _creates(stack: RunningStack, count: int) -> tuple[list[float], list[str]]:
    timings: dict[str, list[float]] = {"create": []}
    sessions = []
    async with stack.platform() as client:
        for _ in range(count):
            created = await timed(client, timings, "create", "POST", SESSIONS, CREATE)
            sessions.append(str(created["id"]))
    return timings["create"], sessions


async def _lifecycles(stack: RunningStack, count: int) -> tuple[list[float], list[str]]:
    """``count`` whole create -> update -> complete lifecycles, 4 in flight: where a checkout's CPU goes."""
    timings: dict[str, list[float]] = {"create": [], "get": [], "update": [], "complete": []}
    sessions: list[str] = []

    async def one(client: Any) -> None:
        sessions.append(await lifecycle(client, timings))

    async with stack.platform() as client:
        for start in range(0, count, 4):
            await asyncio.gather(*(one(client) for _ in range(min(4, count - start))))
    return timings["create"], sessions


async def _warm(stack: RunningStack) -> None:
    async with stack.platform() as client:
        for _ in range(3):
            await lifecycle(client, {"create": [], "get": [], "update": [], "complete": []})


def _sampled(spy: str, pid: int, rate: int, out: Path, run: Any) -> Any:
    options = ["--rate", str(rate), "--format", "raw", "--function", "--nonblocking", "--output", str(out)]
    sampler = subprocess.Popen(
        [spy, "record", "--pid", str(pid), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    try:
        return run()
    finally:
        sampler.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            sampler.wait(timeout=30)


async def _histories(stack: RunningStack, sessions: list[str]) -> list[dict[str, Any]]:
    client = await Client.connect(stack.temporal_address)
    found = []
    for session_id in sessions:
        events = (
            await client.get_workflow_handle(checkout_workflow_id(DEMO_PLATFORM, session_id)).fetch_history()
        ).events
        found.append(history.operations(events)[0])
    return found


def _table(counter: Counter[str], total: int, per_create: float, limit: int) -> list[str]:
    lines = ["| samples % | ms per create | where |", "|---|---|---|"]
    for name, count in counter.most_common(limit):
        lines.append(f"| {100 * count / total:.1f} | {count * per_create:.1f} | `{name}` |")
    return lines


def profile(creates: int, rate: int, lifecycles: bool = False, services: tuple[str, ...] = SERVICES) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    lines = [f"# One create, profiled ({creates} sequential creates per process, py-spy at {rate} Hz)", ""]
    with (
        tempfile.TemporaryDirectory(prefix="ucp-profile-") as tmp,
        process_stack(Path(tmp) / ".ucp", sys.executable) as stack,
    ):
        asyncio.run(_warm(stack))
        flows = _lifecycles if lifecycles else _creates
        latencies: list[float] = []
        sessions: list[str] = []
        for service in services:
            OUT.parent.mkdir(exist_ok=True)
            out = OUT.parent / f"profile-{service}.txt"  # raw collapsed stacks, kept for a flame graph
            took, made = _sampled(spy, stack.pids[service], rate, out, lambda: asyncio.run(flows(stack, creates)))
            latencies += took
            sessions += made
            lines += _service_lines(service, fold(out.read_text() if out.exists() else ""), rate, creates)
        ops = asyncio.run(_histories(stack, sessions))
    lines[1:1] = ["", *_history_lines(ops, latencies)]
    return "\n".join(lines) + "\n"


def _history_lines(ops: list[dict[str, Any]], latencies: list[float]) -> list[str]:
    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.1f}" if values else "—"

    by_type: dict[str, list[float]] = {}
    for op in ops:
        for activity in op["activities"]:
            by_type.setdefault(activity["type"], []).append(activity["ms"])
    return [
        f"create p50 as the platform sees it: {median(latencies)} ms (n={len(latencies)}, sampler attached).",
        "",
        "From the creates' histories (medians):",
        "",
        "| | value |",
        "|---|---|",
        f"| history events of the create | {median([op['events'] for op in ops])} |",
        f"| workflow tasks | {median([op['workflow_tasks'] for op in ops])} |",
        f"| first workflow task (started -> completed) | {median([op['workflow_task_ms'][0] for op in ops])} ms |",
        f"| all workflow tasks, worker time | {median([sum(op['workflow_task_ms']) for op in ops])} ms |",
        f"| workflow task queue wait, total | {median([sum(op['workflow_task_queue_ms']) for op in ops])} ms |",
        *(
            f"| activity `{kind}` (scheduled -> completed), {len(v) / len(ops):.0f} per create | {median(v)} ms |"
            for kind, v in by_type.items()
        ),
        f"| markers | {ops[-1]['markers'] if ops else []} |",
        f"| server-side span (start -> update completed) | {median([op['span_ms'] for op in ops])} ms |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--lifecycles", action="store_true", help="--creates whole create -> update -> complete lifecycles instead"
    )
    parser.add_argument("--services", default=",".join(SERVICES), help="which processes to sample, in turn")
    args = parser.parse_args()
    text = profile(args.creates, args.rate, args.lifecycles, tuple(args.services.split(",")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
