"""Histories recorded by earlier builds replay on this one (DESIGN invariant 5, durable across deploys).

Each file in ``histories/`` was recorded by the build its name starts with (``histories/record.py``).
A workflow change without ``workflow.patched`` makes its replay fail with a nondeterminism error —
e.g. 0d8f69b answered before its audit writes were stored; dropping the ``audit-before-answer``
guard breaks that file's replay.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import CLOSES_AT_TERMINAL

HISTORIES = {
    path.stem: path.read_text(encoding="utf-8") for path in sorted(Path(__file__).parent.glob("histories/*.json"))
}


def test_there_is_a_recorded_history() -> None:
    assert HISTORIES, "tests/workflows/histories holds no recorded history"


@pytest.mark.parametrize("name", sorted(HISTORIES))
async def test_recorded_history_replays_on_this_build(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    replayer = Replayer(workflows=[CheckoutSessionWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_a_history_of_the_closing_shape_is_recorded() -> None:
    """Decision 0001 (issue 16.2): a session that completes at its terminal status has a recorded history too,
    ending with the close, so a later change that breaks the closing path fails its replay."""
    closing = []
    for name, text in HISTORIES.items():
        events = WorkflowHistory.from_json(name, text).events
        start = json.loads(events[0].workflow_execution_started_event_attributes.input.payloads[0].data)
        if start.get("behaviour", 0) >= CLOSES_AT_TERMINAL:
            closing.append(events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    assert closing and all(closing), closing
