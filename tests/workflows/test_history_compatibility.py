"""Histories recorded by earlier builds replay on this one (DESIGN invariant 5, durable across deploys).

Each file in ``histories/`` was recorded by the build its name starts with (``histories/record.py``).
A workflow change without ``workflow.patched`` makes its replay fail with a nondeterminism error —
e.g. 0d8f69b answered before its audit writes were stored; dropping the ``audit-before-answer``
guard breaks that file's replay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.checkout import CheckoutSessionWorkflow

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
