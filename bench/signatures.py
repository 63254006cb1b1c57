"""Throughput of the contracts signing path: sign and verify a UCP request with a 2 KB body.

    .venv/bin/python bench/signatures.py [--iterations N]

Prints a table and writes bench/results/signatures.json. Figures are for
comparison between commits on the same machine, not capacity claims.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from contracts import KeyStore, SigningKey, format_ucp_agent, sign_request, verify_request

URL = "https://merchant.example/checkout-sessions/chk_123?x=1"
BODY = json.dumps({"line_items": [{"item": {"id": f"item_{i}"}, "quantity": i} for i in range(40)]}).encode()[:2048]
HEADERS = [
    ("Content-Type", "application/json"),
    ("UCP-Agent", format_ucp_agent("https://platform.example/.well-known/ucp")),
    ("Idempotency-Key", "550e8400-e29b-41d4-a716-446655440000"),
]


def measure(operation: Callable[[], object], iterations: int) -> dict[str, float]:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        operation()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return {
        "p50_us": statistics.median(samples),
        "p99_us": samples[int(len(samples) * 0.99) - 1],
        "ops_per_s": 1e6 / statistics.mean(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    key = SigningKey.generate()
    keys = KeyStore(key)
    added = sign_request(method="POST", url=URL, headers=HEADERS, body=BODY, key=key)
    signed = HEADERS + list(added.items())
    results = {
        "sign_request": measure(
            lambda: sign_request(method="POST", url=URL, headers=HEADERS, body=BODY, key=key), args.iterations
        ),
        "verify_request": measure(
            lambda: verify_request(method="POST", url=URL, headers=signed, body=BODY, keys=keys), args.iterations
        ),
    }
    print(f"{'operation':<16}{'p50 µs':>10}{'p99 µs':>10}{'ops/s':>10}   (body {len(BODY)} B, n={args.iterations})")
    for name, row in results.items():
        print(f"{name:<16}{row['p50_us']:>10.1f}{row['p99_us']:>10.1f}{row['ops_per_s']:>10.0f}")
    out = Path(__file__).parent / "results" / "signatures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "body_bytes": len(BODY), "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
