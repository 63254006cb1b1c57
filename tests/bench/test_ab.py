"""bench/ab.py's table from synthetic rounds: medians per side and the head - base delta, never a timing."""

from __future__ import annotations

from typing import Any

from bench import ab


def _round(**p50: float) -> dict[str, Any]:
    return {operation: {"n": 30, "p50_ms": value, "p95_ms": value * 2} for operation, value in p50.items()}


def test_the_table_gives_each_sides_median_and_the_delta() -> None:
    results = {
        "base": [_round(create=40.0, update=30.0), _round(create=44.0, update=34.0), _round(create=41.0, update=31.0)],
        "head": [_round(create=35.0, update=29.0), _round(create=30.0, update=33.0), _round(create=34.0, update=28.0)],
    }
    lines = ab.table("abc123", results)
    base, head, delta = lines[2], lines[3], lines[4]
    assert base.startswith("| base (abc123) | 41.0 (40.0, 44.0, 41.0) |")
    assert head.startswith("| head (working tree) | 34.0 (35.0, 30.0, 34.0) |")
    # create: 34 - 41; get absent on both sides; update: 29 - 31.
    assert delta == "| head - base (medians) | -7.0 | — | -2.0 | — | — |"
