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
  the request named (``_merchant_of``: an update deduplicated by id never ran
  the workflow's validator) and compares the result's request digest with its
  own: Temporal dedups by update id, so a *different* body under the same key
  receives the first body's result — which we turn into ``409
  idempotency_key_reused`` (invariant 2);
* the API waits for a result only up to ``wait_bound``; then a ``complete``
  answers with the session's state as ``complete_in_progress`` and other
  operations with ``202 operation_pending`` — replaying the same request (same
  key) attaches to the same running update and returns its result;
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
from typing import Any

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
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.closed_sessions import ClosedSessions
from api.temporal_errors import RETRY_AFTER_SECONDS, temporal_errors, workflow_closed
from contracts import ErrorCode, UcpError, checkout_session_id, checkout_workflow_id, update_id
from core.logging import bind
from workflows import search_attributes
from workflows.lifecycle import COMPLETE_IN_PROGRESS
from workflows.types import (
    CHECKOUT_READ_UPDATE,
    CURRENT_BEHAVIOUR,
    ORDER_EVENT_SIGNAL,
    ORDER_READ_UPDATE,
    VIEW_QUERY,
    WORKFLOW_TYPE,
    CheckoutRead,
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


_log = logging.getLogger(__name__)
READ_BOUND = dt.timedelta(seconds=5)  # a GET waits this long for the merchant, then answers from the Query


class CheckoutGateway:
    def __init__(
        self, client: Client, *, task_queue: str, wait_bound: dt.timedelta, read_bound: dt.timedelta = READ_BOUND
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._wait_bound = wait_bound
        self._read_bound = min(read_bound, wait_bound)
        self._reads: dict[str, asyncio.Future[SessionView | None]] = {}
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
                **({"continue_as_new_after_events": context.history_limit} if context.history_limit else {}),
            ),
            id=workflow_id,
            task_queue=self._task_queue,
            result_type=SessionView,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A run that failed (its create never arrived, issue 12.11) may be started again; a finished one not.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.PLATFORM, context.platform_id),
                    SearchAttributePair(search_attributes.MERCHANT, context.merchant_id),
                    SearchAttributePair(search_attributes.STATUS, "creating"),
                ]
            ),
            static_summary=f"Checkout {session_id} at {context.merchant_id} for {context.platform_id}",
            static_details=(
                f"platform: {context.platform_id}\nmerchant: {context.merchant_id}\nsession: {session_id}\n"
                "Query `view` for the checkout, order, status history and pending actions."
            ),
        )
        try:
            with temporal_errors():
                try:
                    handle = await self._accepted(
                        self._client.start_update_with_start_workflow(
                            Operation.CREATE.value,
                            request,
                            result_type=OperationResult,
                            id=update_id(Operation.CREATE.value, request.idempotency_key),
                            start_workflow_operation=start,
                            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        )
                    )
                except (WorkflowAlreadyStartedError, RPCError) as exc:
                    if isinstance(exc, RPCError) and exc.status != RPCStatusCode.ALREADY_EXISTS:
                        raise
                    with contextlib.suppress(Exception):  # the start's own copy of the refusal: read, not logged
                        await start.workflow_handle()
                    return session_id, await self._closed_create(context, request, session_id, exc)
        except TimeoutError:
            return session_id, await self._still_running(Operation.CREATE, request, context.platform_id, session_id)
        result = await self._bounded(handle, request, Operation.CREATE, context.platform_id, session_id)
        if await self._merchant_of(context.platform_id, session_id) != context.merchant_id:
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
        try:
            with temporal_errors():
                try:
                    update = await self._accepted(
                        handle.start_update(
                            operation.value,
                            request,
                            result_type=OperationResult,
                            id=update_id(operation.value, request.idempotency_key),
                            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        )
                    )
                except RPCError:
                    # The workflow completed at its terminal status: answered from the state it closed with.
                    closed = await self._closed.answer(operation, request, platform_id, session_id)
                    if closed is None:
                        raise
                    return closed
        except TimeoutError:
            return await self._still_running(operation, request, platform_id, session_id)
        result = await self._bounded(update, request, operation, platform_id, session_id)
        if request.merchant_id is not None and await self._merchant_of(platform_id, session_id) != request.merchant_id:
            raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
        return result

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

    async def _bounded(
        self,
        update: WorkflowUpdateHandle[Any],
        request: OperationRequest,
        operation: Operation,
        platform_id: str,
        session_id: str,
    ) -> OperationResult:
        try:
            result: OperationResult = await update.result(rpc_timeout=self._wait_bound)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
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

    async def _accepted(self, starting: Awaitable[WorkflowUpdateHandle[Any]]) -> WorkflowUpdateHandle[Any]:
        """The update once accepted, within the wait bound (``TimeoutError`` past it).

        A current session runs the operation's first merchant attempt inside the workflow task
        that accepts the update (issue 13), so acceptance can take as long as the merchant; the
        update stays admitted when this wait gives up, and a replay with the same key attaches to it.
        """
        try:
            return await asyncio.wait_for(starting, self._wait_bound.total_seconds())
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:  # how the SDK reports the cancelled wait
            raise TimeoutError("the update was not accepted within the wait bound") from exc

    async def _still_running(
        self, operation: Operation, request: OperationRequest, platform_id: str, session_id: str
    ) -> OperationResult:
        if operation is Operation.COMPLETE:
            try:
                view = await asyncio.wait_for(self.view(platform_id, session_id), self._wait_bound.total_seconds())
            except TimeoutError:
                view = None  # the session is busy with the complete itself: the platform replays for the answer
            if view is not None and view.checkout is not None:
                body = {**view.checkout, "status": COMPLETE_IN_PROGRESS}
                return OperationResult(
                    operation=operation, http_status=200, body=body, request_digest=request.body_digest
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
                result: OrderReadResult = await handle.execute_update(
                    ORDER_READ_UPDATE,
                    request,
                    id=update_id(ORDER_READ_UPDATE, str(uuid.uuid4())),
                    result_type=OrderReadResult,
                    rpc_timeout=self._wait_bound,
                )
            except RPCError as exc:
                if workflow_closed(exc) or exc.status == RPCStatusCode.NOT_FOUND:
                    # Closed: a current session's order workflow reads it; an older one's snapshot answers.
                    return await self._closed.read_order(platform_id, session_id, request)
                raise
            except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
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
        """The session after a read of the merchant's checkout; ``None``: answer from the Query instead.

        Concurrent callers for one session share one read (single flight, shielded so
        that one caller's disconnect does not cancel the others'). ``None`` when the
        workflow refused the read (read moments ago, a merchant call running, not
        waiting), it did not finish within the read bound, or Temporal failed: a GET
        then still answers, from the state the Query just returned.
        """
        workflow_id = checkout_workflow_id(platform_id, session_id)
        shared = self._reads.get(workflow_id)
        if shared is None:
            shared = asyncio.ensure_future(self._read_checkout(workflow_id, merchant_id))
            self._reads[workflow_id] = shared
            shared.add_done_callback(lambda _: self._reads.pop(workflow_id, None))
        return await asyncio.shield(shared)

    async def _read_checkout(self, workflow_id: str, merchant_id: str) -> SessionView | None:
        try:
            view: SessionView = await self._client.get_workflow_handle(workflow_id).execute_update(
                CHECKOUT_READ_UPDATE,
                CheckoutRead(merchant_id=merchant_id),
                id=update_id(CHECKOUT_READ_UPDATE, str(uuid.uuid4())),
                result_type=SessionView,
                rpc_timeout=self._read_bound,
            )
        except Exception as exc:  # refused, slow or failed: the Query answers (see the docstring)
            _log.debug("read-through not used for %s: %s", workflow_id, type(exc).__name__)
            return None
        return view

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
