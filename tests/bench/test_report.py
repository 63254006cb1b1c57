"""bench/run.py's targets and table from a small synthetic result: the arithmetic, never a timing.

The figures are made up; what is checked is how issue 13's targets are derived
from them (goal, ratio, met, all_met), so a change to the report cannot
silently move a goal.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import compare
from bench.bench_lib import report, resources
from bench.bench_lib.resources import growth_slope
from bench.bench_lib.stats import percentile


def _row(p50: float) -> dict[str, Any]:
    return {"n": 10, "p50_ms": p50, "p95_ms": p50 * 2}


def synthetic(**overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "crypto": {"sign_plus_verify_ms": 0.2, "signed_messages_per_operation": {"create": 4, "get": 2}},
        "direct": {
            "sequential": {op: _row(7.0) for op in report.OPERATIONS},
            "concurrent": {"lifecycles_per_s": 30.0},
        },
        "engine": {"noop_update_p50_ms": 7.0, "concurrent": {"lifecycles_per_s": 40.0}},
        "connector_sequential": {op: _row(18.0) for op in report.OPERATIONS},
        "sweep": [
            {"in_flight": 1, "lifecycles_per_s": 10.0, "failed": 0, "cpu_ms_per_checkout": {}},
            {
                "in_flight": 8,
                "lifecycles_per_s": 25.0,
                "failed": 0,
                "cpu_ms_per_checkout": {
                    "api": 5.0,
                    "worker": 10.0,
                    "temporal": 8.0,
                    "merchant": 4.0,
                    "bench": 3.0,
                    "total_connector": 27.0,
                },
            },
        ],
        "history": {"events_create_update_complete": 21},
        "memory": {"mb_per_1000_sessions": {"api": 0.2, "worker": 0.9}},
    }
    results.update(overrides)
    return results


def test_every_target_met_when_the_connector_is_within_its_bounds() -> None:
    found = report.targets(synthetic())
    assert found["p50_create_ms"]["goal"] == pytest.approx(19.0)  # direct 7 + engine 7 + 5
    assert found["p50_create_ms"]["met"] is True
    assert found["lifecycles_per_s_at_8"]["goal"] == pytest.approx(24.0)  # 80 % of min(30, 40)
    assert found["signing_share"]["measured"] == pytest.approx(4 * 0.2 / 18.0, abs=1e-3)
    assert found["signing_share"]["per_operation"]["get"] == pytest.approx(2 * 0.2 / 18.0, abs=1e-3)
    assert found["cpu_ms_per_checkout"]["goal"] is None  # reported, not scored
    assert found["cpu_ms_per_checkout"]["split"]["worker"] == 10.0
    assert found["all_met"] is True


def test_one_missed_or_unmeasured_target_fails_all_met() -> None:
    slow = synthetic(connector_sequential={op: _row(19.5 if op == "update" else 18.0) for op in report.OPERATIONS})
    found = report.targets(slow)
    assert found["p50_update_ms"]["met"] is False
    assert found["p50_update_ms"]["ratio"] == pytest.approx(19.5 / 19.0, abs=1e-3)
    assert found["all_met"] is False
    unmeasured = report.targets(synthetic(history={}))
    assert unmeasured["history_events_create_update_complete"]["met"] is False
    assert unmeasured["all_met"] is False


def test_throughput_goal_follows_the_slower_bound() -> None:
    results = synthetic(engine={"noop_update_p50_ms": 7.0, "concurrent": {"lifecycles_per_s": 20.0}})
    found = report.targets(results)
    assert found["lifecycles_per_s_at_8"]["goal"] == pytest.approx(16.0)
    assert found["lifecycles_per_s_at_8"]["met"] is True


def test_markdown_names_every_target_and_the_verdict() -> None:
    results = synthetic(notes=["quick: memory extrapolated"])
    text = report.markdown(results)
    for name in report.targets(results):
        if name != "all_met":
            assert f"| {name} |" in text
    assert "**all targets met: yes**" in text
    assert "quick: memory extrapolated" in text


def test_memory_slope_and_percentile() -> None:
    assert growth_slope([(0, 100.0), (500, 100.5), (1000, 101.0)]) == pytest.approx(1.0)
    assert growth_slope([(10, 5.0)]) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0


def test_compare_puts_before_and_after_side_by_side() -> None:
    before = synthetic(connector_sequential={op: _row(150.0) for op in report.OPERATIONS})
    before["targets"] = report.targets(before)
    after = synthetic()
    after["targets"] = report.targets(after)
    text = compare.table(before, after)
    assert "| p50_create_ms | 150 | 18 | <= 19 | 0.95 | yes |" in text
    assert "| **all_met** | no | yes |" in text


def test_in_process_direct_goal_is_reported_beside_not_scored() -> None:
    results = synthetic(direct_in_process={"sequential": {op: _row(3.0) for op in report.OPERATIONS}})
    found = report.targets(results)
    assert found["p50_create_ms"]["goal"] == pytest.approx(19.0)
    assert found["p50_create_ms"]["goal_with_in_process_direct"] == pytest.approx(15.0)
    assert found["all_met"] is True


def test_the_connectors_shape_is_reported_beside_the_no_op_and_never_scored() -> None:
    """Issue 13: the engine rows for one no-op local activity and a status upsert show what the shape alone
    takes of the 5 ms; the goals stay direct + the no-op Update + 5 ms."""
    shaped = {"local_activity": 9.5, "local_activity_and_status": 11.25}
    results = synthetic(
        engine={"noop_update_p50_ms": 7.0, "shaped_update_p50_ms": shaped, "concurrent": {"lifecycles_per_s": 40.0}}
    )
    text = report.markdown(results)
    assert "| engine: Update + one no-op local activity | 9.5 |" in text
    assert "status upsert (the connector's shape) | 11.2 |" in text
    assert report.targets(results)["p50_create_ms"]["goal"] == pytest.approx(19.0)
    assert "connector's shape" not in report.markdown(synthetic())


def test_the_machine_speed_probe_is_printed_beside_the_load_average() -> None:
    """A shared VM's speed drifts with no load average to show it (docs/perf/profile-round5.md): the run's
    header carries the CPU probe before and after; records without it print as before."""
    text = report.markdown(synthetic(cpu_probe_ms=[41.5, 63.0]))
    assert "CPU probe (a fixed 1 M-step Python loop) 41.5 ms before, 63.0 ms after" in text
    assert "CPU probe" not in report.markdown(synthetic())
    assert resources.cpu_probe_ms(runs=1) > 0
