"""Bind each activity's identity to every log line it writes (and to the lines of the libraries it calls).

An on-call engineer greps by session: every line an activity emits -- ours,
httpx's, the storage layer's -- carries ``workflow_id``, ``session_id``
(derived from the workflow id, DESIGN.md invariant 3), ``activity`` and
``attempt``, so a retry storm or a slow merchant shows up per session. The
worker runs each activity in its own asyncio task, so the binding cannot leak
into another activity.
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.logging import session_of_workflow


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        fields: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "activity": info.activity_type,
            "activity_id": info.activity_id,
            "attempt": info.attempt,
        }
        session_id = session_of_workflow(info.workflow_id or "")
        if session_id is not None:
            fields["session_id"] = session_id
        with structlog.contextvars.bound_contextvars(**fields):
            return await super().execute_activity(input)


class ActivityLogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
