"""Before and after, side by side: two bench/run.py results, every target with its measured value in each.

    .venv/bin/python -m bench.compare docs/perf/before-quick.json bench/results/latest.json [--out FILE]

Prints a markdown table (what issue 13's closing note carries): per target the
before and after value, the after goal (goals come from bounds measured in the
same run, so each run is judged against its own bounds) and the after verdict.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _value(target: dict[str, Any] | None) -> str:
    if not target or target.get("measured") is None:
        return "—"
    return f"{target['measured']:.3g}"


def table(before: dict[str, Any], after: dict[str, Any]) -> str:
    old, new = before.get("targets") or {}, after.get("targets") or {}
    lines = [
        f"| target | before ({before.get('started_at', '?')}) | after ({after.get('started_at', '?')}) "
        "| after goal | after ratio | met after |",
        "|---|---|---|---|---|---|",
    ]
    for name in [key for key in new if key != "all_met"] + [key for key in old if key not in new and key != "all_met"]:
        target = new.get(name) or {}
        goal = "reported" if target.get("goal") is None else f"{target['comparison']} {target['goal']:.3g}"
        ratio = "—" if target.get("ratio") is None else f"{target['ratio']:.2f}"
        met = {True: "yes", False: "**no**", None: "—"}[target.get("met")]
        lines.append(f"| {name} | {_value(old.get(name))} | {_value(target)} | {goal} | {ratio} | {met} |")
    lines.append(
        f"| **all_met** | {'yes' if old.get('all_met') else 'no'} | {'yes' if new.get('all_met') else 'no'} | | | |"
    )
    loads = f"load average before {before.get('load_average')}, after {after.get('load_average')}"
    return "\n".join([*lines, "", f"{loads}; {after.get('noise_note', '')}"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    text = table(json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
