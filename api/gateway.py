"""The API's only way to reach checkout state: start, update, query and signal workflows.

* **create** is one Update-With-Start (``USE_EXISTING``; a completed workflow id is
  never reused, so a retry cannot silently start a second session):
  same platform + same ``Idempotency-Key`` land on the same workflow and the
  same update (DESIGN.md invariant 3);
* a session started by this build completes at its terminal status (decision
  0001): what reaches it afterwards (replays, order webhooks, order reads) is
  answered by ``api.closed_sessions`` from the state it closed with;
* **update/complete/cancel** are Workflow Updates with id ``{operation}:{key}``;
* after every update the API checks that the session belongs to the merchant
  the request named (the merchant the workflow stamps on its result, or
  ``_merchant_of`` for a result recorded before it did: an update deduplicated
  by id never ran the workflow's validator) and compares the result's request digest with its
  own: Temporal dedups by update id, so a *different* body under the same key
  receives the first body's result — which we turn into ``409
  idempotency_key_reused`` (invariant 2);
* the API waits for a result only up to ``wait_bound``, on its own clock (the
  SDK's result poll starts again whenever the server ends a long poll empty, so
  its ``rpc_timeout`` bounds one poll, not the wait); then a ``complete`` the
  session has accepted answers with the session's state, ``complete_in_progress``,
  and anything else with ``202 operation_pending`` — a ``complete`` that was not
  accepted (its first merchant attempt holds the accepting task; a Temporal
  restart can lose an update that was never accepted) must be replayed, and the
  replay with the same key attaches to the running update or runs it again under
  the same outbound key (issue 11.5);
* an order read is an update with a fresh id (reads carry no key); once the
  session's workflow has closed it goes to the session's order workflow (an
  older session's route serves the final snapshot instead);
* a session GET while the session waits on its buyer or an outcome reads the
  merchant through (``read_checkout``, bounded by the workflow:
  ``workflows.read_through``); concurrent GETs of one session in this process
  share one such read, and any refusal, delay or failure of it leaves the
  answer to the Query;
* Temporal unreachable → ``503 service_unavailable`` with ``Retry-After``: fail
  closed, nothing half-created (every failure's mapping: ``api.temporal_errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.types import MerchantProfileSummary
from api.closed_sessions import ClosedSessions
from api.read_through import ReadThrough
from api.temporal_errors import RETRY_AFTER_SECONDS, temporal_errors, workflow_closed
from contracts import ErrorCode, UcpError, checkout_session_id, checkout_workflow_id, update_id
from core.logging import bind
from workflows import search_attributes
from workflows.lifecycle import COMPLETE_IN_PROGRESS
from workflows.types import (
    CURRENT_BEHAVIOUR,
    ORDER_EVENT_SIGNAL,
    ORDER_READ_UPDATE,
    VIEW_QUERY,
    WORKFLOW_TYPE,
    Operation,
    OperationRequest,
    OperationResult,
    OrderEvent,
    OrderRead,
    OrderReadResult,
    PolicySnapshot,
    SessionStart,
    SessionView,
)


@dataclass(frozen=True)
class SessionContext:
    """What the gateway needs to know about the caller for a new session."""

    platform_id: str
    merchant_id: str
    policy: PolicySnapshot
    webhook_url: str | None
    webhook_allow_insecure_loopback: bool
    history_limit: int | None = None  # continue-as-new bound; tests lower it
    merchant_call_timeout_seconds: int = 30
    merchant: MerchantProfileSummary | None = None  # negotiated by the API; None: the workflow discovers it


_log = logging.getLogger(__name__)
T = TypeVar("T")
READ_BOUND = dt.timedelta(seconds=5)  # a GET waits this long for the merchant, then answers from the Query


class CheckoutGateway:
    def __init__(
        self, client: Client, *, task_queue: str, wait_bound: dt.timedelta, read_bound: dt.timedelta = READ_BOUND
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._wait_bound = wait_bound
        self._read_bound = min(read_bound, wait_bound)
        self._read_through = ReadThrough(client, self._read_bound)
        self._closed = ClosedSessions(client, task_queue=task_queue)

    def _handle(self, platform_id: str, session_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(checkout_workflow_id(platform_id, session_id))

    async def create(self, context: SessionContext, request: OperationRequest) -> tuple[str, OperationResult]:
        session_id = checkout_session_id(context.platform_id, request.idempotency_key)
        workflow_id = checkout_workflow_id(context.platform_id, session_id)
        bind(session_id=session_id)
        start: WithStartWorkflowOperation[Any, SessionView] = WithStartWorkflowOperation(
            WORKFLOW_TYPE,
            SessionStart(
                platform_id=context.platform_id,
                session_id=session_id,
                merchant_id=context.merchant_id,
                policy=context.policy,
                platform_webhook_url=context.webhook_url,
                platform_webhook_allow_insecure_loopback=context.webhook_allow_insecure_loopback,
                merchant_call_timeout_seconds=context.merchant_call_timeout_seconds,
                behaviour=CURRENT_BEHAVIOUR,
                answer_within_seconds=self._wait_bound.total_seconds(),
                merchant=context.merchant,
                **({"continue_as_new_after_events": context.history_limit} if context.history_limit else {}),
            ),
            id=workflow_id,
            task_queue=self._task_queue,
            result_type=SessionView,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A run that failed (its create never arrived, issue 12.11) may be started again; a finished one not.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=search_attributes.at_start(context.platform_id, context.merchant_id, "creating"),
            static_summary=f"Checkout {session_id} at {context.merchant_id} for {context.platform_id}",
            static_details=(
                f"platform: {context.platform_id}\nmerchant: {context.merchant_id}\nsession: {session_id}\n"
                "Query `view` for the checkout, order, status history and pending actions."
            ),
        )
        deadline = self._deadline()
        try:
            with temporal_errors():
                try:
                    handle = await self._accepted(
                        deadline,
                        self._client.start_update_with_start_workflow(
                            Operation.CREATE.value,
                            request,
                            result_type=OperationResult,
                            id=update_id(Operation.CREATE.value, request.idempotency_key),
                            start_workflow_operation=start,
                            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        ),
                    )
                except (WorkflowAlreadyStartedError, RPCError) as exc:
                    if isinstance(exc, RPCError) and exc.status != RPCStatusCode.ALREADY_EXISTS:
                        raise
                    with contextlib.suppress(Exception):  # the start's own copy of the refusal: read, not logged
                        await start.workflow_handle()
                    return session_id, await self._closed_create(context, request, session_id, exc)
        except TimeoutError:
            return session_id, await self._still_running(Operation.CREATE, request, context.platform_id, session_id)
        result = await self._bounded(deadline, handle, request, Operation.CREATE, context.platform_id, session_id)
        if await self._answered_for(result, context.platform_id, session_id) != context.merchant_id:
            raise UcpError(
                "this Idempotency-Key already created a session at another merchant; use a new key",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                detail={"reason": "other_merchant"},
            )
        return session_id, result

    async def _closed_create(
        self, context: SessionContext, request: OperationRequest, session_id: str, cause: Exception
    ) -> OperationResult:
        """The key's workflow has completed and is never started again: a replay answers from its final state."""
        closed = None
        if await self._merchant_of(context.platform_id, session_id) == context.merchant_id:
            closed = await self._closed.answer(Operation.CREATE, request, context.platform_id, session_id)
        if closed is None:  # an older session past its window, or the key's session is at another merchant
            raise UcpError(
                "this Idempotency-Key belongs to a closed session and cannot create another",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                detail={"reason": "session_closed"},
            ) from cause
        return closed

    async def operate(
        self, platform_id: str, session_id: str, operation: Operation, request: OperationRequest
    ) -> OperationResult:
        handle = self._handle(platform_id, session_id)
        deadline = self._deadline()
        try:
            with temporal_errors():
                try:
                    update = await self._accepted(
                        deadline,
                        handle.start_update(
                            operation.value,
                            request,
                            result_type=OperationResult,
                            id=update_id(operation.value, request.idempotency_key),
                            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        ),
                    )
                except RPCError:
                    # The workflow completed at its terminal status: answered from the state it closed with.
                    closed = await self._closed.answer(operation, request, platform_id, session_id)
                    if closed is None:
                        raise
                    return closed
        except TimeoutError:
            return await self._still_running(operation, request, platform_id, session_id)
        result = await self._bounded(deadline, update, request, operation, platform_id, session_id)
        if request.merchant_id is not None and await self._answered_for(result, platform_id, session_id) != (
            request.merchant_id
        ):
            raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
        return result

    async def _answered_for(self, result: OperationResult, platform_id: str, session_id: str) -> str | None:
        """The merchant of the session that answered: stamped on the result by the workflow (issue 13: one
        server call less per operation), else, for a result recorded before it was, ``_merchant_of``."""
        if result.merchant_id is not None:
            return result.merchant_id
        return await self._merchant_of(platform_id, session_id)

    async def _merchant_of(self, platform_id: str, session_id: str) -> str | None:
        """The merchant the session's workflow was started for (its search attribute; the server answers alone).

        Temporal dedups an update by its id (``{operation}:{key}``) *before* the
        workflow's validator runs, so the same key sent under another merchant's
        path would attach to the first merchant's update and answer with that
        merchant's checkout (issue 12.8). The update ids stay as they are (a
        changed id would re-run an in-flight ``complete``); the answer is checked.
        """
        with temporal_errors():
            description = await self._handle(platform_id, session_id).describe()
        return description.typed_search_attributes.get(search_attributes.MERCHANT)

    def _deadline(self) -> float:
        """When the API's wait for an operation ends (the event loop's clock): ``wait_bound`` from now."""
        return asyncio.get_running_loop().time() + self._wait_bound.total_seconds()

    async def _bounded(
        self,
        deadline: float,
        update: WorkflowUpdateHandle[Any],
        request: OperationRequest,
        operation: Operation,
        platform_id: str,
        session_id: str,
    ) -> OperationResult:
        try:
            result: OperationResult = await _until(deadline, update.result(rpc_timeout=self._wait_bound))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # Our bounded wait ran out; the update itself keeps running in the workflow.
            return await self._still_running(operation, request, platform_id, session_id)
        except Exception:  # mapped to a frozen code, or re-raised untouched (the SDK keeps its cause there)
            with temporal_errors():
                raise
        if result.request_digest != request.body_digest:
            raise UcpError(
                "this Idempotency-Key was already used with a different request body",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                detail={"operation": result.operation.value},
            )
        return result

    async def _accepted(
        self, deadline: float, starting: Awaitable[WorkflowUpdateHandle[Any]]
    ) -> WorkflowUpdateHandle[Any]:
        """The update once accepted, before ``deadline`` (``TimeoutError`` past it).

        A current session runs the operation's first merchant attempt inside the workflow task
        that accepts the update (issue 13), so acceptance can take as long as the merchant; the
        update stays admitted when this wait gives up, and a replay with the same key attaches to it.
        """
        try:
            return await _until(deadline, starting)
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:  # how the SDK reports the cancelled wait
            raise TimeoutError("the update was not accepted within the wait bound") from exc

    async def _still_running(
        self, operation: Operation, request: OperationRequest, platform_id: str, session_id: str
    ) -> OperationResult:
        if operation is Operation.COMPLETE:
            try:
                view = await asyncio.wait_for(self.view(platform_id, session_id), self._read_bound.total_seconds())
            except TimeoutError:
                view = None  # the session is busy with the complete itself: the platform replays for the answer
            # Only a complete the session has accepted is "in progress"; one never accepted (or lost with a
            # Temporal restart before it was) leaves the session as it was, and the platform must replay it.
            if view is not None and view.checkout is not None and view.status == COMPLETE_IN_PROGRESS:
                return OperationResult(
                    operation=operation, http_status=200, body=view.checkout, request_digest=request.body_digest
                )
        raise UcpError(
            "the operation is still running; replay the same request with the same Idempotency-Key for its result",
            code=ErrorCode.OPERATION_PENDING,
            retry_after=RETRY_AFTER_SECONDS,
        )

    async def read_order(self, platform_id: str, session_id: str, request: OrderRead) -> OrderReadResult | None:
        """The merchant's current order, read through the session's workflow; ``None`` once it has closed.

        Reads carry no Idempotency-Key, so each gets a fresh update id. After
        the session's idempotency window the workflow is closed and can run
        nothing; the caller then serves the final snapshot from its Query.
        """
        handle = self._handle(platform_id, session_id)
        with temporal_errors():
            try:
                result: OrderReadResult = await _until(
                    self._deadline(),
                    handle.execute_update(
                        ORDER_READ_UPDATE,
                        request,
                        id=update_id(ORDER_READ_UPDATE, str(uuid.uuid4())),
                        result_type=OrderReadResult,
                        rpc_timeout=self._wait_bound,
                    ),
                )
            except RPCError as exc:
                if workflow_closed(exc) or exc.status == RPCStatusCode.NOT_FOUND:
                    # Closed: a current session's order workflow reads it; an older one's snapshot answers.
                    return await self._closed.read_order(platform_id, session_id, request)
                raise
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
                raise UcpError(
                    "the merchant did not answer the order read in time; retry later",
                    code=ErrorCode.MERCHANT_TIMEOUT,
                    retry_after=RETRY_AFTER_SECONDS,
                ) from exc
        return result

    async def ping(self, rpc_timeout: dt.timedelta) -> None:
        """Raise unless the Temporal frontend answers within ``rpc_timeout`` (readiness, ``/readyz``)."""
        await self._client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=rpc_timeout)

    async def read_checkout(self, platform_id: str, session_id: str, merchant_id: str) -> SessionView | None:
        """The session after a read of the merchant's checkout; ``None``: answer from the Query (api.read_through)."""
        return await self._read_through.read(checkout_workflow_id(platform_id, session_id), merchant_id)

    async def view(self, platform_id: str, session_id: str) -> SessionView:
        with temporal_errors():
            view: SessionView = await self._handle(platform_id, session_id).query(VIEW_QUERY, result_type=SessionView)
        return await self._closed.with_order(view, platform_id, session_id)

    async def order_event(self, platform_id: str, session_id: str, event: OrderEvent) -> None:
        """Into the session's workflow; once it has completed, into the session's order workflow."""
        with temporal_errors():
            try:
                await self._handle(platform_id, session_id).signal(ORDER_EVENT_SIGNAL, event)
            except RPCError:
                if not await self._closed.order_event(platform_id, session_id, event):
                    raise


async def _until(deadline: float, waiting: Awaitable[T]) -> T:
    """``waiting``'s result if it comes before ``deadline`` (the loop's clock), else ``TimeoutError``.

    The SDK's update calls take an ``rpc_timeout`` per RPC and loop while the server answers "not yet",
    so only our own clock bounds how long the platform waits.
    """
    return await asyncio.wait_for(waiting, max(0.0, deadline - asyncio.get_running_loop().time()))
