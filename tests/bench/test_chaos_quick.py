"""The chaos bench's quick mode, in CI: no lost session, no duplicate order, no platform-visible 5xx.

Issue 12 ("In the project, so these stay fixed"): ``bench/chaos.py --quick``
runs signed checkouts while workers are SIGKILLed, the Temporal dev server and
the API are killed and restarted, the merchant misbehaves (503 bursts, hangs
that end in a dropped connection, commit-then-drop on complete) and the audit
store is locked; then it reconciles. Its exit status is the verdict (lost = 0,
duplicate orders = 0, platform 5xx = 0, every audit chain verifies); the test
also reads the figures it printed, so a failure says which one moved. Nothing
here is about time: the bench bounds itself with its own deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _figures(printed: str) -> dict[str, str]:
    rows = (line.split(None, 1) for line in printed.splitlines() if line.strip())
    return {row[0]: row[1].strip() if len(row) > 1 else "" for row in rows}


@pytest.mark.timeout(900)  # the bench bounds itself: 170 s of flows, then up to 120 s for sessions to settle
def test_chaos_quick_loses_nothing_and_never_orders_twice() -> None:
    """DESIGN invariants 3-5 (one order per complete, nothing lost) under process kills and merchant faults."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    figures = _figures(done.stdout)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert figures.get("lost") == "0" and figures.get("duplicate_orders") == "0", figures
    assert figures.get("platform_5xx") in ("{}", "0", ""), figures
    assert figures.get("audit_verify_ok") == "True", figures
