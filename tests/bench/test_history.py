"""bench/bench_lib/history.py cuts a Temporal history into operations: checked on a small hand-built history.

What the issue's "history events per create -> update -> complete" target and
the profile's "workflow tasks per operation" figures are computed from; no
server, no timing assertion (the event times are made up).
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.bench_lib.history import _summary, operations

E = EventType


def _event(event_id: int, kind: EventType.ValueType, ms: int, **attributes: object) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=kind, event_time=Timestamp(seconds=1, nanos=ms * 1_000_000))
    for field, value in attributes.items():
        getattr(event, field).MergeFrom(value)
    return event


def _history() -> list[HistoryEvent]:
    accepted = HistoryEvent().workflow_execution_update_accepted_event_attributes
    create, update = type(accepted)(), type(accepted)()
    create.accepted_request.input.name = "create"
    update.accepted_request.input.name = "update"
    wft_done = type(HistoryEvent().workflow_task_completed_event_attributes)
    scheduled = type(HistoryEvent().activity_task_scheduled_event_attributes)()
    scheduled.activity_type.name = "call_merchant"
    done = type(HistoryEvent().activity_task_completed_event_attributes)(scheduled_event_id=6)
    return [
        _event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0),
        _event(2, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1),
        _event(3, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 3),
        _event(
            4,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            43,
            workflow_task_completed_event_attributes=wft_done(scheduled_event_id=2, started_event_id=3),
        ),
        _event(
            5,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            43,
            workflow_execution_update_accepted_event_attributes=create,
        ),
        _event(6, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 43, activity_task_scheduled_event_attributes=scheduled),
        _event(7, E.EVENT_TYPE_ACTIVITY_TASK_STARTED, 45),
        _event(8, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 73, activity_task_completed_event_attributes=done),
        _event(9, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 73),
        _event(10, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 74),
        _event(
            11,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            84,
            workflow_task_completed_event_attributes=wft_done(scheduled_event_id=9, started_event_id=10),
        ),
        _event(12, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 84),
        _event(13, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 200),
        _event(14, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, 202),
        _event(
            15,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            210,
            workflow_task_completed_event_attributes=wft_done(scheduled_event_id=13, started_event_id=14),
        ),
        _event(
            16,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            210,
            workflow_execution_update_accepted_event_attributes=update,
        ),
        _event(17, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 210),
        _event(18, E.EVENT_TYPE_TIMER_STARTED, 211),  # after the last answer: no operation of its own
    ]


def test_history_is_cut_at_each_update_completed() -> None:
    create, update = operations(_history())
    assert create["operation"] == "create"
    assert create["events"] == 12
    assert create["workflow_tasks"] == 2
    assert create["workflow_task_ms"] == [40.0, 10.0]
    assert create["workflow_task_queue_ms"] == [2.0, 1.0]
    assert create["activities"] == [{"type": "call_merchant", "ms": 30.0}]
    assert create["span_ms"] == 84.0
    assert update["operation"] == "update"
    assert update["events"] == 5
    assert update["activities"] == []


def test_summary_takes_medians_per_operation() -> None:
    ops = operations(_history())
    summary = _summary([ops, ops])
    assert summary["create"]["first_workflow_task_ms"] == 40.0
    assert summary["create"]["activity_ms"] == {"call_merchant": 30.0}
    assert summary["update"]["workflow_tasks"] == 1
