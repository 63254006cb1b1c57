"""The worker's sandbox runner (``worker/sandbox.py``): same answers as the SDK's, same guard (issue 13).

Real time-skipping Temporal, real worker. The runner under test answers each
payload's serialization context without the SDK's ``exec``; a recording
subclass asks the SDK's own path too, for every payload of a workflow that
schedules an activity and a local activity, and the two must agree — so an SDK
release that changes what the context is fails here, not in production.
Each test has a private test server (``time_travel_env``): running a workflow
to its end lets the server skip decades, which the shared one must not see.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails

from tests.worker.sandbox_workflows import ContextsWorkflow, IoWorkflow, echo
from worker.main import _runner
from worker.sandbox import DirectContextSandboxRunner, _DirectContextInstance

ANSWERS: list[tuple[Any, Any, Any]] = []  # (command info, ours, the SDK's), in the order they were asked


class _Recording(_DirectContextInstance):
    def get_serialization_context(self, command_info: Any) -> Any:
        ours = super().get_serialization_context(command_info)
        theirs = super(_DirectContextInstance, self).get_serialization_context(command_info)
        ANSWERS.append((command_info, ours, theirs))
        return ours


class _RecordingRunner(DirectContextSandboxRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Recording(det, self.runner_class, self.restrictions)


async def test_serialization_contexts_match_the_sdks_own(time_travel_env: WorkflowEnvironment) -> None:
    ANSWERS.clear()
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    runner = _RecordingRunner(restrictions=_runner(True).restrictions)
    async with Worker(
        time_travel_env.client,
        task_queue=queue,
        workflows=[ContextsWorkflow],
        activities=[echo],
        workflow_runner=runner,
    ):
        answer = await time_travel_env.client.execute_workflow(
            ContextsWorkflow.run, "hello", id=f"sandbox-{uuid.uuid4()}", task_queue=queue
        )
    assert answer == "hello"
    assert ANSWERS, "the worker asked for no serialization context"
    assert all(ours == theirs for _, ours, theirs in ANSWERS)
    # Both kinds were asked: the workflow's own payloads and an activity's (its command's context).
    assert {type(ours).__name__ for _, ours, _ in ANSWERS} >= {
        "WorkflowSerializationContext",
        "ActivitySerializationContext",
    }


async def test_the_sandbox_still_refuses_io_in_workflow_code(time_travel_env: WorkflowEnvironment) -> None:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(time_travel_env.client, task_queue=queue, workflows=[IoWorkflow], workflow_runner=_runner(True)):
        with pytest.raises(WorkflowFailureError) as failed:
            await time_travel_env.client.execute_workflow(
                IoWorkflow.run, id=f"sandbox-{uuid.uuid4()}", task_queue=queue
            )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "RestrictedWorkflowAccessError"


def test_the_worker_uses_the_direct_runner() -> None:
    assert isinstance(_runner(True), DirectContextSandboxRunner)
