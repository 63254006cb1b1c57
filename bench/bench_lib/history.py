"""Where an operation's time goes, read from Temporal's own history of a finished session.

A session's history is cut into operations at each ``UpdateCompleted`` event
(create is the first Update, with the workflow's start). For each operation:
its events, its workflow tasks (queue wait and worker time), its activities
(scheduled -> completed, queue wait included, by type) and its markers (local
activities, patches). The totals
for create -> update -> complete are the issue's "history events" target.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from contracts import checkout_workflow_id


def _ms(event: HistoryEvent) -> float:
    return float(event.event_time.ToNanoseconds()) / 1e6


def operations(events: Sequence[HistoryEvent]) -> list[dict[str, Any]]:
    """The history split at ``UpdateCompleted``: per operation its counts and durations (ms)."""
    found: list[dict[str, Any]] = []
    by_id = {event.event_id: event for event in events}
    segment: list[HistoryEvent] = []
    for event in events:
        segment.append(event)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            found.append(_segment(segment, by_id))
            segment = []
    return found


def _segment(segment: list[HistoryEvent], by_id: dict[int, HistoryEvent]) -> dict[str, Any]:
    name = "?"
    tasks, waits, activities, markers = [], [], [], []
    for event in segment:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            name = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            started = by_id[event.workflow_task_completed_event_attributes.started_event_id]
            scheduled = by_id[event.workflow_task_completed_event_attributes.scheduled_event_id]
            tasks.append(round(_ms(event) - _ms(started), 2))
            waits.append(round(_ms(started) - _ms(scheduled), 2))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = by_id[event.activity_task_completed_event_attributes.scheduled_event_id]
            activity = scheduled.activity_task_scheduled_event_attributes.activity_type.name
            activities.append({"type": activity, "ms": round(_ms(event) - _ms(scheduled), 2)})
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            markers.append(event.marker_recorded_event_attributes.marker_name)
    return {
        "operation": name,
        "events": len(segment),
        "span_ms": round(_ms(segment[-1]) - _ms(segment[0]), 2),
        "workflow_tasks": len(tasks),
        "workflow_task_ms": tasks,
        "workflow_task_queue_ms": waits,
        "activities": activities,
        "markers": markers,
    }


async def sessions(address: str, platform_id: str, session_ids: Sequence[str]) -> dict[str, Any]:
    """Analyse each session's history (create -> update -> complete); medians across sessions."""
    client = await Client.connect(address)
    analysed = []
    for session_id in session_ids:
        history = await client.get_workflow_handle(checkout_workflow_id(platform_id, session_id)).fetch_history()
        analysed.append(operations(history.events)[:3])
    totals = [sum(op["events"] for op in ops) for ops in analysed if len(ops) == 3]
    return {
        "sessions": len(analysed),
        "events_create_update_complete": statistics.median(totals) if totals else None,
        "events_per_session": totals,
        "example": analysed[-1] if analysed else [],
        "summary": _summary(analysed),
    }


def _summary(analysed: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Per operation name: median events, workflow tasks, first task, worker ms and each activity type's ms."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for ops in analysed:
        for op in ops:
            grouped.setdefault(op["operation"], []).append(op)
    result: dict[str, Any] = {}
    for name, ops in grouped.items():
        per_type: dict[str, list[float]] = {}
        for op in ops:
            for activity in op["activities"]:
                per_type.setdefault(activity["type"], []).append(activity["ms"])
        result[name] = {
            "events": statistics.median(op["events"] for op in ops),
            "workflow_tasks": statistics.median(op["workflow_tasks"] for op in ops),
            "first_workflow_task_ms": _median([op["workflow_task_ms"][0] for op in ops if op["workflow_task_ms"]]),
            "workflow_task_ms_total": statistics.median(sum(op["workflow_task_ms"]) for op in ops),
            "span_ms": statistics.median(op["span_ms"] for op in ops),
            "activity_ms": {kind: statistics.median(values) for kind, values in per_type.items()},
            "activities": statistics.median(len(op["activities"]) for op in ops),
            "markers": statistics.median(len(op["markers"]) for op in ops),
        }
    return result


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
