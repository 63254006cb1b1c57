"""Workflows for tests/worker/test_sandbox.py, in a module of their own: the sandbox re-imports it per run."""

from __future__ import annotations

import datetime as dt

from temporalio import activity, workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError


@activity.defn(name="sandbox_echo")
async def echo(text: str) -> str:
    return text


@workflow.defn(name="sandbox_contexts")
class ContextsWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        remote = await workflow.execute_activity(echo, text, start_to_close_timeout=dt.timedelta(seconds=10))
        return await workflow.execute_local_activity(echo, remote, start_to_close_timeout=dt.timedelta(seconds=10))


@workflow.defn(name="sandbox_io", failure_exception_types=[RestrictedWorkflowAccessError])
class IoWorkflow:
    @workflow.run
    async def run(self) -> str:
        with open("/etc/hostname", encoding="utf-8") as handle:  # noqa: ASYNC230 - I/O in workflow code: refused
            return handle.read()
