"""A/B on this machine: the same sequential operations through two checkouts of the connector, alternately.

    .venv/bin/python -m bench.ab --base REV [--rounds 3] [--flows 30] [--out bench/results/ab.json]

``bench.run --quick`` takes 6 samples per operation, and two runs of the same
code differ by more than most single changes save (docs/perf/README.md). This
runs ``bench.bench_lib.connector.sequential`` (create -> get -> update ->
complete, and create -> cancel, one request at a time) against a fresh stack of
the working tree and of ``REV`` (a temporary ``git worktree``), alternating
base, head, base, head, ..., so both sides see the same machine; each side's
stack runs entirely from its own checkout (this venv's libraries). It prints
each round's p50 per operation and the median of the rounds, and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_lib.resources import cpu_probe_ms

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "ab.json"
OPERATIONS = ("create", "get", "update", "complete", "cancel")

# Runs inside one checkout (its own bench library and stack): one fresh stack, the sequential flows, JSON out.
SIDE = """
import asyncio, json, sys, tempfile
from pathlib import Path
from bench.bench_lib.connector import sequential
from bench.bench_lib.stack import process_stack

async def measure(stack, flows):
    timings, _ = await sequential(stack.platform(), flows)
    return timings

with tempfile.TemporaryDirectory() as state:
    with process_stack(Path(state), sys.executable) as stack:
        print(json.dumps(asyncio.run(measure(stack, int(sys.argv[1])))))
"""


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """``rev`` as a detached worktree in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ucp-ab-") as parent:
        path = Path(parent) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev], check=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def side(path: Path, flows: int) -> dict[str, Any]:
    """One round of one side: its p50 (and p95, n) per operation, in ms."""
    done = subprocess.run(
        [sys.executable, "-c", SIDE, str(flows)], cwd=path, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the run in {path} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(rounds: list[dict[str, Any]], operation: str) -> float | None:
    values = [found[operation]["p50_ms"] for found in rounds if operation in found]
    return round(statistics.median(values), 2) if values else None


def table(base: str, results: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        "| p50 ms (each round) | " + " | ".join(OPERATIONS) + " |",
        "|---|" + "---|" * len(OPERATIONS),
    ]
    for name in ("base", "head"):
        label = f"{name} ({base})" if name == "base" else "head (working tree)"
        cells = []
        for operation in OPERATIONS:
            each = ", ".join(f"{found[operation]['p50_ms']:.1f}" for found in results[name] if operation in found)
            cells.append(f"{_median(results[name], operation)} ({each})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    deltas = []
    for operation in OPERATIONS:
        before, after = _median(results["base"], operation), _median(results["head"], operation)
        deltas.append("—" if before is None or after is None else f"{after - before:+.1f}")
    lines.append("| head - base (medians) | " + " | ".join(deltas) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flows", type=int, default=30, help="lifecycles (and cancels) per round and side")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    began = time.monotonic()
    load_before = os.getloadavg()
    with checkout(args.base) as base_path:
        for round_number in range(1, args.rounds + 1):
            for name, path in (("base", base_path), ("head", ROOT)):
                probe = cpu_probe_ms()  # the machine's speed may drift between rounds (bench_lib.resources)
                found = side(path, args.flows) | {"cpu_probe_ms": probe}
                results[name].append(found)
                summary = ", ".join(f"{op} {found[op]['p50_ms']:.1f}" for op in OPERATIONS if op in found)
                print(
                    f"round {round_number}/{args.rounds} {name}: {summary} (CPU probe {probe} ms)",
                    file=sys.stderr,
                    flush=True,
                )
    lines = table(args.base, results)
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "base": args.base,
                "rounds": args.rounds,
                "flows": args.flows,
                "load_average": [load_before, os.getloadavg()],
                "seconds": round(time.monotonic() - began, 1),
                "results": results,
                "median_p50_ms": {
                    name: {op: _median(rounds, op) for op in OPERATIONS} for name, rounds in results.items()
                },
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
