"""The targets of issue 13 computed from one run's results, and the markdown table: pure functions, no I/O.

``targets(results)`` gives, for each target, ``measured``, ``goal``, ``met`` and
how the goal was derived; ``all_met`` is true only when every target with a goal
was measured and met (a target that could not be measured is not met).
CPU per checkout has no goal in the issue: it is reported (``goal`` null).
"""

from __future__ import annotations

from typing import Any

OPERATIONS = ("create", "update", "complete", "cancel", "get")
SLACK_MS = 5.0
THROUGHPUT_SHARE = 0.80
SIGNING_SHARE = 0.05
HISTORY_EVENTS = 24
MEMORY_MB_PER_1000 = 1.0


def _p50(section: dict[str, Any] | None, operation: str) -> float | None:
    row = (section or {}).get(operation) or {}
    value = row.get("p50_ms")
    return float(value) if value is not None else None


def _target(measured: float | None, goal: float | None, *, at_most: bool, how: str) -> dict[str, Any]:
    met = None if goal is None else (measured is not None and (measured <= goal if at_most else measured >= goal))
    ratio = None if measured is None or not goal else round(measured / goal, 3)
    return {
        "measured": None if measured is None else round(measured, 3),
        "goal": None if goal is None else round(goal, 3),
        "comparison": "<=" if at_most else ">=",
        "ratio": ratio,
        "met": met,
        "how": how,
    }


def _level(results: dict[str, Any], in_flight: int) -> dict[str, Any] | None:
    levels = results.get("sweep") or []
    return next((level for level in levels if level["in_flight"] == in_flight and "skipped" not in level), None)


def targets(results: dict[str, Any]) -> dict[str, Any]:
    direct = (results.get("direct") or {}).get("sequential")
    connector = results.get("connector_sequential")
    engine = results.get("engine") or {}
    noop = engine.get("noop_update_p50_ms")
    found: dict[str, Any] = {}
    in_process = (results.get("direct_in_process") or {}).get("sequential")
    for operation in OPERATIONS:
        bound = _p50(direct, operation)
        goal = None if bound is None or noop is None else bound + float(noop) + SLACK_MS
        found[f"p50_{operation}_ms"] = _target(
            _p50(connector, operation),
            goal,
            at_most=True,
            how=f"direct {operation} p50 (the stack's merchant process) + engine no-op update p50 + 5 ms",
        )
        # For reference, not scored: the goal with the in-process merchant of bench/merchant_flows.py instead.
        other = _p50(in_process, operation)
        if other is not None and noop is not None:
            found[f"p50_{operation}_ms"]["goal_with_in_process_direct"] = round(other + float(noop) + SLACK_MS, 3)
    direct_rate = ((results.get("direct") or {}).get("concurrent") or {}).get("lifecycles_per_s")
    engine_rate = (engine.get("concurrent") or {}).get("lifecycles_per_s")
    eight = _level(results, 8)
    bound_rate = None if direct_rate is None or engine_rate is None else min(direct_rate, engine_rate)
    found["lifecycles_per_s_at_8"] = _target(
        None if eight is None else float(eight["lifecycles_per_s"]),
        None if bound_rate is None else THROUGHPUT_SHARE * bound_rate,
        at_most=False,
        how="80 % of min(direct lifecycles/s, engine lifecycles/s), both at 8 in flight",
    )
    shares = _signing_shares(results)
    found["signing_share"] = {
        **_target(
            max(shares.values()) if shares else None,
            SIGNING_SHARE,
            at_most=True,
            how="worst operation: signed messages x (sign + verify) / p50",
        ),
        "per_operation": shares,
    }
    events = (results.get("history") or {}).get("events_create_update_complete")
    found["history_events_create_update_complete"] = _target(
        None if events is None else float(events), HISTORY_EVENTS, at_most=True, how="median over sessions"
    )
    growth = (results.get("memory") or {}).get("mb_per_1000_sessions") or {}
    for service in ("api", "worker"):
        value = growth.get(service)
        found[f"memory_{service}_mb_per_1000_sessions"] = _target(
            None if value is None else float(value), MEMORY_MB_PER_1000, at_most=True, how="least-squares RSS slope"
        )
    cpu = (eight or {}).get("cpu_ms_per_checkout") or {}
    found["cpu_ms_per_checkout"] = {
        **_target(cpu.get("total_connector"), None, at_most=True, how="reported"),
        "split": cpu,
    }
    scored = [target["met"] for target in found.values() if target["goal"] is not None]
    return {**found, "all_met": bool(scored) and all(met is True for met in scored)}


def _signing_shares(results: dict[str, Any]) -> dict[str, float]:
    """Per operation: the signing work on its critical path as a share of its connector p50."""
    crypto = results.get("crypto") or {}
    per_message = crypto.get("sign_plus_verify_ms")
    messages = crypto.get("signed_messages_per_operation") or {}
    shares = {}
    for operation in OPERATIONS:
        p50 = _p50(results.get("connector_sequential"), operation)
        if per_message is not None and p50 and operation in messages:
            shares[operation] = round(messages[operation] * float(per_message) / p50, 4)
    return shares


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float | int):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    found = results.get("targets") or targets(results)
    lines = [
        f"## bench/run.py{' --quick' if results.get('quick') else ''} — {results.get('started_at', '')}",
        "",
        f"Machine: {results.get('machine', '?')}; load average {results.get('load_average', '?')} before, "
        f"{results.get('load_average_after', '?')} after{_probe(results)}. {results.get('noise_note', '')}",
        "",
        *_latency_table(results),
        "",
        *_sweep_table(results),
        "",
        *_memory_lines(results),
        *_targets_table(found),
        "",
        f"**all targets met: {'yes' if found.get('all_met') else 'no'}**",
        "",
    ]
    lines += [f"- {note}" for note in results.get("notes") or []]
    return "\n".join(lines) + "\n"


def _probe(results: dict[str, Any]) -> str:
    """The machine's speed before and after (``resources.cpu_probe_ms``; absent in older records)."""
    probe = results.get("cpu_probe_ms") or []
    if len(probe) != 2:
        return ""
    return f"; CPU probe (a fixed 1 M-step Python loop) {probe[0]} ms before, {probe[1]} ms after"


def _latency_table(results: dict[str, Any]) -> list[str]:
    direct = (results.get("direct") or {}).get("sequential") or {}
    in_process = (results.get("direct_in_process") or {}).get("sequential") or {}
    connector = results.get("connector_sequential") or {}
    noop = (results.get("engine") or {}).get("noop_update_p50_ms")
    lines = ["| sequential p50 ms (p95) | " + " | ".join(OPERATIONS) + " |", "|---|" + "---|" * len(OPERATIONS)]
    rows = (
        ("direct: platform -> merchant in-process (merchant_flows.py)", in_process),
        ("direct: platform -> the stack's merchant process (bound)", direct),
        ("through the connector", connector),
    )
    for label, section in rows:
        if not section:
            continue
        cells = [f"{_cell(_p50(section, op))} ({_cell((section.get(op) or {}).get('p95_ms'))})" for op in OPERATIONS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(f"| engine: no-op Update | {_cell(noop)} |" + " |" * (len(OPERATIONS) - 1))
    shaped = (results.get("engine") or {}).get("shaped_update_p50_ms") or {}
    for shape, label in SHAPE_LABELS.items():
        if shaped.get(shape) is not None:
            lines.append(f"| {label} | {_cell(shaped[shape])} |" + " |" * (len(OPERATIONS) - 1))
    return lines


SHAPE_LABELS = {
    "local_activity": "engine: Update + one no-op local activity",
    "local_activity_and_status": "engine: Update + no-op local activity + status upsert (the connector's shape)",
}


def _sweep_table(results: dict[str, Any]) -> list[str]:
    direct_rate = ((results.get("direct") or {}).get("concurrent") or {}).get("lifecycles_per_s")
    engine_rate = ((results.get("engine") or {}).get("concurrent") or {}).get("lifecycles_per_s")
    lines = [
        "| in flight | lifecycles/s | failed | CPU ms per checkout: api / worker / temporal / merchant (platform) |",
        "|---|---|---|---|",
    ]
    for level in results.get("sweep") or []:
        if "skipped" in level:
            lines.append(f"| {level['in_flight']} | skipped ({level['skipped']}) | | |")
            continue
        cpu = level.get("cpu_ms_per_checkout") or {}
        split = " / ".join(_cell(cpu.get(name)) for name in ("api", "worker", "temporal", "merchant"))
        rate = _cell(level["lifecycles_per_s"]) + (" (saturated)" if level.get("saturated") else "")
        lines.append(f"| {level['in_flight']} | {rate} | {level['failed']} | {split} ({_cell(cpu.get('bench'))}) |")
    in_process = ((results.get("direct_in_process") or {}).get("concurrent") or {}).get("lifecycles_per_s")
    merchant_cpu = (results.get("direct") or {}).get("merchant_cpu_ms_per_lifecycle")
    lines.append(
        f"| bounds at 8 | direct {_cell(direct_rate)} (in-process {_cell(in_process)}), engine {_cell(engine_rate)}"
        f" | | merchant {_cell(merchant_cpu)} per direct lifecycle |"
    )
    return lines


def _memory_lines(results: dict[str, Any]) -> list[str]:
    memory = results.get("memory") or {}
    if not memory:
        return []
    slope = memory.get("mb_per_1000_sessions") or {}
    last = memory.get("mb_per_1000_sessions_last_half") or {}
    points = memory.get("points") or {}
    rss = ", ".join(f"{name} {values[0][1]:.0f} -> {values[-1][1]:.0f} MB" for name, values in points.items() if values)
    return [
        f"Memory over {memory.get('sessions_measured')} finished sessions ({rss}): MB per 1,000 sessions "
        + ", ".join(
            f"{name} {value:.1f}" + (f" (last half {last[name]:.1f})" if name in last else "")
            for name, value in slope.items()
        )
        + ".",
        "",
    ]


def _targets_table(found: dict[str, Any]) -> list[str]:
    lines = ["| target | measured | goal | ratio | met |", "|---|---|---|---|---|"]
    for name, target in found.items():
        if name == "all_met":
            continue
        goal = "reported" if target["goal"] is None else f"{target['comparison']} {_cell(target['goal'], 2)}"
        measured, ratio = _cell(target["measured"], 3), _cell(target["ratio"], 2)
        lines.append(f"| {name} | {measured} | {goal} | {ratio} | {_cell(target['met'])} |")
    return lines
