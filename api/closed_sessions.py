"""The API's side of decision 0001: sessions whose checkout workflow completed at its terminal status.

A checkout workflow started by this build (``SessionStart.behaviour`` >= 2)
completes once the session is terminal; its result's ``closed``
(:class:`~workflows.types.ClosedSession`) holds the state it closed with. This
module answers what still reaches such a session, without a second workflow
for the checkout and without a new merchant call:

* a platform operation (a replay, a retry, a late update or complete) is
  answered from that state by the workflow's own rules (``workflows.closed``):
  same key and body → the recorded answer, identical; another body → ``409
  idempotency_key_reused``; a new key → the terminal status's refusal;
* merchant order webhooks and the platform's order reads go to the session's
  order workflow (``workflows/order.py``, id ``{checkout workflow id}/order``),
  started with signal-with-start / update-with-start from the latest closed
  state: the order workflow's own result once it has closed, else the
  checkout workflow's;
* a session GET shows the order workflow's snapshot, the newest the session has.

A session recorded before (its result has no ``closed``) keeps today's answers:
``session_closed`` once its 48 h window has passed. The workflow id of a
completed checkout is never reused (``ALLOW_DUPLICATE_FAILED_ONLY`` in the
gateway), so a create retry lands here, never on a second workflow.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.temporal_errors import temporal_errors
from contracts import UcpError, checkout_workflow_id, update_id
from workflows import closed, search_attributes
from workflows.lifecycle import TERMINAL
from workflows.types import (
    ORDER_EVENT_SIGNAL,
    ORDER_READ_UPDATE,
    ORDER_WORKFLOW_TYPE,
    VIEW_QUERY,
    ClosedSession,
    Operation,
    OperationRequest,
    OperationResult,
    OrderEvent,
    OrderRead,
    OrderReadResult,
    SessionView,
    order_workflow_id,
)

ORDER_QUERY_BOUND: Final = dt.timedelta(seconds=2)  # a GET never waits long for the order workflow's snapshot


class ClosedSessions:
    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def closed(self, workflow_id: str) -> ClosedSession | None:
        """The state a workflow completed with; ``None`` while it runs, when it failed, or for an older session."""
        handle = self._client.get_workflow_handle(workflow_id, result_type=SessionView)
        try:
            with temporal_errors():
                description = await handle.describe()
                if description.status != WorkflowExecutionStatus.COMPLETED:
                    return None
                final: SessionView = await handle.result(follow_runs=False)
        except UcpError:
            return None  # no such workflow (or no answer from the engine): nothing closed to answer from
        return final.closed

    async def answer(
        self, operation: Operation, request: OperationRequest, platform_id: str, session_id: str
    ) -> OperationResult | None:
        """The answer of a closed session to ``request`` (raised when a refusal); ``None``: not one of ours."""
        session = await self.closed(checkout_workflow_id(platform_id, session_id))
        if session is None:
            return None
        outcome = closed.answer(
            operation,
            request,
            merchant_id=session.session.merchant_id,
            session_id=session_id,
            state=session.state,
            policy=session.session.policy,
        )
        if isinstance(outcome, UcpError):
            raise outcome
        return outcome

    async def _latest(self, platform_id: str, session_id: str) -> ClosedSession | None:
        """Where the session's order workflow starts from: its own last result, else the checkout's."""
        checkout = checkout_workflow_id(platform_id, session_id)
        return await self.closed(order_workflow_id(checkout)) or await self.closed(checkout)

    def _start_options(self, session: ClosedSession) -> dict[str, Any]:
        start, state = session.session, session.state
        return {
            "id": order_workflow_id(checkout_workflow_id(start.platform_id, start.session_id)),
            "task_queue": self._task_queue,
            "result_type": SessionView,
            "search_attributes": search_attributes.at_start(
                start.platform_id, start.merchant_id, state.status or "closed"
            ),
            "static_summary": f"Order of checkout {start.session_id} at {start.merchant_id} for {start.platform_id}",
            "static_details": (
                f"session: {start.session_id}\nThe checkout workflow has completed; this one follows its order "
                "(merchant order webhooks, order reads). Query `view` for the order."
            ),
        }

    async def order_event(self, platform_id: str, session_id: str, event: OrderEvent) -> bool:
        """Signal the event into the session's order workflow, starting it; False: the session is not closed so."""
        checkout = checkout_workflow_id(platform_id, session_id)
        try:
            with temporal_errors():
                await self._client.get_workflow_handle(order_workflow_id(checkout)).signal(ORDER_EVENT_SIGNAL, event)
            return True
        except UcpError:
            pass  # not running (never started, or completed after a quiet day): start it from the latest state
        session = await self._latest(platform_id, session_id)
        if session is None:
            return False
        with temporal_errors():
            await self._client.start_workflow(
                ORDER_WORKFLOW_TYPE,
                session,
                start_signal=ORDER_EVENT_SIGNAL,
                start_signal_args=[event],
                **self._start_options(session),
            )
        return True

    async def read_order(self, platform_id: str, session_id: str, request: OrderRead) -> OrderReadResult | None:
        """The order read through the session's order workflow (update-with-start); ``None``: not closed so."""
        session = await self._latest(platform_id, session_id)
        if session is None:
            return None
        start: WithStartWorkflowOperation[Any, SessionView] = WithStartWorkflowOperation(
            ORDER_WORKFLOW_TYPE,
            session,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **self._start_options(session),
        )
        with temporal_errors():
            result: OrderReadResult = await self._client.execute_update_with_start_workflow(
                ORDER_READ_UPDATE,
                request,
                id=update_id(ORDER_READ_UPDATE, str(uuid.uuid4())),
                result_type=OrderReadResult,
                start_workflow_operation=start,
            )
        return result

    async def with_order(self, view: SessionView, platform_id: str, session_id: str) -> SessionView:
        """A finished session's view with its order workflow's snapshot, when it has one (it is the newer)."""
        if view.status not in TERMINAL:
            return view
        handle = self._client.get_workflow_handle(order_workflow_id(checkout_workflow_id(platform_id, session_id)))
        try:
            order_view: SessionView = await handle.query(
                VIEW_QUERY, result_type=SessionView, rpc_timeout=ORDER_QUERY_BOUND
            )
        except RPCError:
            return view  # no order workflow (yet), or it cannot answer now (mid-continuation): the checkout's snapshot
        return view.model_copy(update={"order": order_view.order})
