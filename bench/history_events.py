"""History events and workflow tasks per create -> update -> complete, counted from Temporal's history API.

    .venv/bin/python -m bench.history_events [--flows N]

Drives N flows through the stack of tests/e2e (signed HTTP -> API -> Temporal dev server
in memory -> worker -> reference merchant), then reads each session's workflow history and
counts its events by type up to the complete's answer: history events, workflow tasks
(``WorkflowTaskCompleted``), activities and local-activity markers. Issue 13 targets at most
24 events per create -> update -> complete. Prints a table and writes
bench/results/history_events.json. Counts are deterministic; no time is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import tempfile
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType

from contracts import checkout_workflow_id
from tests.e2e.conftest import MERCHANT, Connector, running_connector
from tests.fixtures.bodies import payment_body, ready_body
from ucp_connector.local_temporal import start_dev_server

RESULTS = Path(__file__).parent / "results" / "history_events.json"
BASE = f"/merchants/{MERCHANT}/checkout-sessions"


async def _flow(connector: Connector) -> str:
    async def call(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await connector.call(connector.alpha, method, path, body)
        assert response.status_code < 300, response.text
        return dict(response.json())

    created = await call("POST", BASE, {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]})
    await call("PUT", f"{BASE}/{created['id']}", ready_body())
    await call("POST", f"{BASE}/{created['id']}/complete", payment_body())
    return str(created["id"])


async def _counts(connector: Connector, session_id: str) -> dict[str, Any]:
    handle = connector.env.client.get_workflow_handle(checkout_workflow_id(connector.alpha.id, session_id))
    events = [event async for event in handle.fetch_history_events()]
    # Count up to the complete's answer: the third accepted update's completion.
    completed_updates, cut = 0, len(events)
    for index, event in enumerate(events):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            completed_updates += 1
            if completed_updates == 3:
                cut = index + 1
                break
    kinds = collections.Counter(EventType.Name(event.event_type) for event in events[:cut])
    return {
        "history_events": cut,
        "workflow_tasks": kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "activities": kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"],
        "markers": kinds["EVENT_TYPE_MARKER_RECORDED"],
        "total_history_so_far": len(events),
        "by_type": dict(kinds),
    }


async def main(flows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = await start_dev_server()
        try:
            async with running_connector(env, Path(tmp), wait_seconds=60) as connector:
                sessions = [await _flow(connector) for _ in range(flows)]
                await asyncio.sleep(1)  # let the last writes after the answers land
                counts = [await _counts(connector, session_id) for session_id in sessions]
        finally:
            await env.shutdown()
    first = counts[0]
    return {
        "flows": flows,
        "per_create_update_complete": {key: first[key] for key in ("history_events", "workflow_tasks", "activities")},
        "markers": first["markers"],
        "by_type": first["by_type"],
        "all_equal": all(count["history_events"] == first["history_events"] for count in counts),
        "target_history_events": 24,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=3)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.flows))
    per = outcome["per_create_update_complete"]
    print("history per create -> update -> complete (up to the complete's answer)")
    print(f"{'history events':<20}{per['history_events']:>6}   (target <= {outcome['target_history_events']})")
    print(f"{'workflow tasks':<20}{per['workflow_tasks']:>6}   ({per['workflow_tasks'] / 3:.1f} per operation)")
    print(f"{'activities':<20}{per['activities']:>6}")
    print(f"{'local markers':<20}{outcome['markers']:>6}")
    for name, count in sorted(outcome["by_type"].items()):
        print(f"  {name.removeprefix('EVENT_TYPE_').lower():<44}{count:>4}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2))
    print(f"wrote {RESULTS}")
