"""``CheckoutSessionWorkflow``: one durable workflow per UCP checkout session.

How it reads (DESIGN.md invariants 3-6, "Checkout lifecycle"):

* **Create** arrives as an Update-With-Start (``create``); later platform
  operations are Updates named ``update``, ``complete``, ``cancel`` and
  ``refresh`` whose update id is ``{operation}:{Idempotency-Key}``. Each update
  has a *validator*: an illegal transition, a policy refusal or a reused key is
  rejected before anything is written to history.
* ``read_order`` (the platform's GET of its order) is an Update too, so the
  read goes through a signed, audited merchant call; it changes nothing at the
  merchant, so it needs no Idempotency-Key and no lock.
* Every handler that changes the merchant session holds ``_merchant_lock``, so
  those calls are strictly ordered; every merchant call draws the next *operation
  sequence* number: the merchant-facing ``Idempotency-Key`` is derived from
  (workflow id, sequence), so an activity retried after a crash re-sends the
  same key and the merchant answers from its cache instead of placing a second
  order (invariant 4).
* The workflow remembers, per platform key, the body digest and the result,
  so a replay returns the identical result — also after ``continue_as_new``,
  when Temporal's own update-id dedup no longer reaches back.
* The run method mirrors the merchant: it polls with backoff while
  ``complete_in_progress``, re-reads the session when ``expires_at`` passes,
  accepts order webhooks as signals, notifies the platform of changes it did
  not cause itself, and after a terminal status stays open for the 48 h
  idempotency window before finishing.
* Audit events and session-index updates go through one ordered queue drained
  by a background coroutine, so hash-chain order equals decision order;
  nothing queued is dropped (pending items are carried across
  ``continue_as_new``). A platform operation answers only once its own writes
  are stored, so what the platform reads next (listing, events, order lookup)
  already includes it; polls, expiry and webhooks never wait for the store.

No I/O, clock or randomness here: time is ``workflow.now()``, I/O is activities.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.errors import decode_failure, encode_failure
    from activities.types import (
        ActivityName,
        AuditRecord,
        CallMerchantInput,
        DiscoverMerchantInput,
        MerchantOperation,
        MerchantProfileSummary,
        MerchantReply,
        PlatformNotification,
        SessionIndexRecord,
        StorageBatch,
    )
    from contracts import ErrorCode, UcpError, canonical_json, content_digest, outbound_idempotency_key
    from workflows import lifecycle, search_attributes
    from workflows.types import (
        ORDER_EVENT_SIGNAL,
        ORDER_READ_UPDATE,
        VIEW_QUERY,
        WORKFLOW_TYPE,
        CarriedState,
        IdempotencyRecord,
        Operation,
        OperationRequest,
        OperationResult,
        OrderEvent,
        OrderRead,
        OrderReadResult,
        SessionStart,
        SessionView,
        StatusChange,
    )

IDEMPOTENCY_WINDOW: Final = dt.timedelta(hours=48)
DEFAULT_SESSION_LIFETIME: Final = dt.timedelta(hours=6)  # checkout.md: expires_at defaults to 6 h
EXPIRY_RECHECK: Final = dt.timedelta(minutes=1)
POLL_INITIAL: Final = dt.timedelta(seconds=1)
POLL_MAX: Final = dt.timedelta(minutes=1)
MAX_UPDATES_IN_FLIGHT: Final = 6  # the server caps a run at 10 in-flight updates
MAX_REMEMBERED_WEBHOOK_IDS: Final = 500
STORAGE_BATCH: Final = 50  # audit/index writes per activity
AUDIT_BEFORE_ANSWER_PATCH: Final = "audit-before-answer"  # histories recorded before it answered earlier


_SYNCHRONOUS_CAUSES: Final = frozenset(operation.value for operation in Operation)

_MERCHANT_RETRY: Final = RetryPolicy(
    initial_interval=dt.timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=dt.timedelta(seconds=30)
)
_FOREVER_RETRY: Final = RetryPolicy(
    initial_interval=dt.timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=dt.timedelta(minutes=1)
)
# How long each merchant operation may keep retrying 5xx/429/timeouts before the platform gets an error.
# Complete keeps trying for a day: its outcome must be learned, never guessed (invariant 4).
_MERCHANT_DEADLINES: Final[dict[MerchantOperation, dt.timedelta]] = {
    MerchantOperation.CREATE: dt.timedelta(minutes=2),
    MerchantOperation.UPDATE: dt.timedelta(minutes=2),
    MerchantOperation.CANCEL: dt.timedelta(minutes=5),
    MerchantOperation.COMPLETE: dt.timedelta(hours=24),
    MerchantOperation.GET: dt.timedelta(minutes=1),
    MerchantOperation.GET_ORDER: dt.timedelta(minutes=1),
}
# Failures after which a complete's outcome is unknown: the merchant may have placed the order.
_OUTCOME_UNKNOWN: Final = frozenset(
    {
        ErrorCode.MERCHANT_SIGNATURE_INVALID,
        ErrorCode.MERCHANT_RESPONSE_INVALID,
        ErrorCode.MERCHANT_TIMEOUT,
        ErrorCode.MERCHANT_UNAVAILABLE,
    }
)


def _rejection(error: UcpError) -> ApplicationError:
    """A validator rejection the API maps back to the frozen code (nothing is written to history)."""
    return encode_failure(error)


def _result(operation: Operation, request: OperationRequest, status: int, body: dict[str, Any]) -> OperationResult:
    return OperationResult(operation=operation, http_status=status, body=body, request_digest=request.body_digest)


def _error_result(operation: Operation, request: OperationRequest, error: UcpError) -> OperationResult:
    return _result(operation, request, error.http_status, error.to_json_dict())


@workflow.defn(name=WORKFLOW_TYPE)
class CheckoutSessionWorkflow:
    @workflow.init
    def __init__(self, start: SessionStart) -> None:
        self._start = start
        carried = start.carried
        self._merchant: MerchantProfileSummary | None = carried.merchant if carried else None
        self._merchant_checkout_id: str | None = carried.merchant_checkout_id if carried else None
        self._checkout: dict[str, Any] | None = carried.checkout if carried else None
        self._status: str | None = carried.status if carried else None
        self._created = carried.created if carried else False
        self._closed_at: dt.datetime | None = carried.closed_at if carried else None
        self._created_at: dt.datetime = carried.created_at if carried else workflow.now()
        self._order: dict[str, Any] | None = carried.order if carried else None
        self._order_event_ids: list[str] = list(carried.order_event_ids) if carried else []
        self._history: list[StatusChange] = list(carried.status_history) if carried else []
        self._idempotency: dict[str, IdempotencyRecord] = dict(carried.idempotency) if carried else {}
        self._merchant_call_seq = carried.merchant_call_seq if carried else 0
        self._audit_seq = carried.audit_seq if carried else 0
        self._notification_seq = carried.notification_seq if carried else 0
        self._storage_queue: list[AuditRecord | SessionIndexRecord] = list(carried.pending_audit) if carried else []
        self._notifications: list[PlatformNotification] = list(carried.pending_notifications) if carried else []
        self._storage_written = 0  # items this run has stored; the queue holds the rest
        self._merchant_lock = asyncio.Lock()
        self._updates_in_flight = 0
        self._changes = 0  # bumped on every state change the run loop must look at
        # A complete whose outcome is unknown: poll until the merchant says (carried, or polling would stop).
        self._reconcile = carried.reconcile if carried else False
        self._last_expiry_check: dt.datetime | None = None
        self._polls = 0  # merchant polls since the last status change (backoff exponent)

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, start: SessionStart) -> SessionView:
        storage = asyncio.create_task(self._drain(self._storage_queue, self._write_storage, batch=STORAGE_BATCH))
        notifications = asyncio.create_task(self._drain(self._notifications, self._notify, batch=1))
        await workflow.wait_condition(lambda: self._created)
        while True:
            if self._window_closed():
                break
            await self._step()
            if self._continue_as_new_due():
                # Queued audit writes and notifications travel in the continuation; one that is in
                # flight right now is re-sent by the next run, which is safe: both are idempotent.
                await workflow.wait_condition(workflow.all_handlers_finished)
                storage.cancel()
                notifications.cancel()
                workflow.continue_as_new(self._continuation())
        await self._drained()
        storage.cancel()
        notifications.cancel()
        return self.view()

    async def _step(self) -> None:
        """Wait for whatever the current status needs, then act on it."""
        seen = self._changes
        window_end = self._window_end()
        if window_end is not None:
            await self._wait(lambda: self._changes != seen, window_end - workflow.now())
            return
        if self._status == lifecycle.COMPLETE_IN_PROGRESS or self._reconcile:
            backoff = min(POLL_MAX, POLL_INITIAL * (2 ** min(self._polls, 10)))
            if not await self._wait(lambda: self._changes != seen, backoff):
                await self._refresh_from_merchant("poll")
            return
        due = self._expiry_check_due()
        if not await self._wait(lambda: self._changes != seen, due - workflow.now()):
            self._last_expiry_check = workflow.now()
            await self._refresh_from_merchant("expiry")

    async def _wait(self, condition: Callable[[], bool], within: dt.timedelta) -> bool:
        """True if ``condition`` (or a continue-as-new need) came first, False on timeout."""
        if within <= dt.timedelta(0):
            return condition()
        try:
            await workflow.wait_condition(lambda: condition() or self._continue_as_new_due(), timeout=within)
        except TimeoutError:
            return False
        return True

    def _window_end(self) -> dt.datetime | None:
        """When the idempotency window of a finished (or never created) session ends; None while it is open."""
        if self._status is not None and self._status not in lifecycle.TERMINAL:
            return None
        return (self._closed_at or self._created_at) + IDEMPOTENCY_WINDOW

    def _window_closed(self) -> bool:
        window_end = self._window_end()
        return window_end is not None and workflow.now() >= window_end

    def _expiry_check_due(self) -> dt.datetime:
        expiry = (self._checkout and lifecycle.expires_at(self._checkout)) or (
            self._last_change_at() + DEFAULT_SESSION_LIFETIME
        )
        if self._last_expiry_check is not None:
            expiry = max(expiry, self._last_expiry_check + EXPIRY_RECHECK)
        return expiry

    def _last_change_at(self) -> dt.datetime:
        return self._history[-1].at if self._history else self._created_at

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._start.continue_as_new_after_events
        )

    async def _drained(self) -> None:
        """Before finishing: let running updates end and every queued write and notification go out."""
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._storage_queue and not self._notifications
        )

    def _continuation(self) -> SessionStart:
        carried = CarriedState(
            merchant=self._merchant,
            merchant_checkout_id=self._merchant_checkout_id,
            checkout=self._checkout,
            status=self._status,
            created=self._created,
            closed_at=self._closed_at,
            created_at=self._created_at,
            order=self._order,
            order_event_ids=self._order_event_ids[-MAX_REMEMBERED_WEBHOOK_IDS:],
            status_history=self._history,
            idempotency=self._idempotency,
            merchant_call_seq=self._merchant_call_seq,
            audit_seq=self._audit_seq,
            notification_seq=self._notification_seq,
            pending_audit=self._storage_queue,
            pending_notifications=self._notifications,
            reconcile=self._reconcile,
        )
        return self._start.model_copy(update={"carried": carried})

    # -------------------------------------------------------------- updates

    @workflow.update(name=Operation.CREATE.value)
    async def create(self, request: OperationRequest) -> OperationResult:
        return await self._operate(Operation.CREATE, request)

    @create.validator
    def _validate_create(self, request: OperationRequest) -> None:
        self._validate(Operation.CREATE, request)

    @workflow.update(name=Operation.UPDATE.value)
    async def update(self, request: OperationRequest) -> OperationResult:
        return await self._operate(Operation.UPDATE, request)

    @update.validator
    def _validate_update(self, request: OperationRequest) -> None:
        self._validate(Operation.UPDATE, request)

    @workflow.update(name=Operation.COMPLETE.value)
    async def complete(self, request: OperationRequest) -> OperationResult:
        return await self._operate(Operation.COMPLETE, request)

    @complete.validator
    def _validate_complete(self, request: OperationRequest) -> None:
        self._validate(Operation.COMPLETE, request)

    @workflow.update(name=Operation.CANCEL.value)
    async def cancel(self, request: OperationRequest) -> OperationResult:
        return await self._operate(Operation.CANCEL, request)

    @cancel.validator
    def _validate_cancel(self, request: OperationRequest) -> None:
        self._validate(Operation.CANCEL, request)

    @workflow.update(name=Operation.REFRESH.value)
    async def refresh(self, request: OperationRequest) -> OperationResult:
        return await self._operate(Operation.REFRESH, request)

    @refresh.validator
    def _validate_refresh(self, request: OperationRequest) -> None:
        self._validate(Operation.REFRESH, request)

    def _validate(self, operation: Operation, request: OperationRequest) -> None:
        if request.merchant_id is not None and request.merchant_id != self._start.merchant_id:
            # The session exists, but not at the merchant the platform named: do not reveal it (404).
            raise _rejection(UcpError("no such checkout session", code=ErrorCode.NOT_FOUND))
        record = self._idempotency.get(request.idempotency_key)
        if record is not None:
            if record.operation != operation or record.digest != request.body_digest:
                raise _rejection(
                    UcpError(
                        "this Idempotency-Key was already used with a different request",
                        code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        detail={"operation": record.operation.value},
                    )
                )
            return  # a replay: the handler answers from the record
        if operation is Operation.CREATE and self._created:
            raise _rejection(UcpError("the session already exists", code=ErrorCode.TRANSITION_INVALID))
        if operation is not Operation.CREATE and not self._created:
            raise _rejection(UcpError("the checkout session does not exist", code=ErrorCode.NOT_FOUND))
        error = self._refusal(operation)
        if error is not None:
            raise _rejection(error)
        self._refuse_when_busy()

    def _refusal(self, operation: Operation) -> UcpError | None:
        """Why ``operation`` may not run now: a transition the spec forbids, or the platform's spend policy."""
        error = lifecycle.transition_error(operation, self._status)
        if error is None and operation is Operation.COMPLETE and self._checkout is not None:
            error = lifecycle.policy_error(self._start.policy, self._checkout)
        return error

    def _refuse_when_busy(self) -> None:
        if self._updates_in_flight >= MAX_UPDATES_IN_FLIGHT:
            raise _rejection(
                UcpError("too many concurrent operations on this session", code=ErrorCode.RATE_LIMITED, retry_after=1)
            )

    async def _operate(self, operation: Operation, request: OperationRequest) -> OperationResult:
        record = self._idempotency.get(request.idempotency_key)
        if record is not None and record.result is not None:
            return record.result
        self._idempotency[request.idempotency_key] = IdempotencyRecord(operation=operation, digest=request.body_digest)
        self._updates_in_flight += 1
        try:
            async with self._merchant_lock:
                # The status may have moved while this update waited for the lock.
                error = self._refusal(operation)
                result = (
                    _error_result(operation, request, error)
                    if error is not None
                    else await self._perform(operation, request)
                )
            self._idempotency[request.idempotency_key] = IdempotencyRecord(
                operation=operation, digest=request.body_digest, result=result
            )
            self._audit_answer(
                operation.value, result.http_status, result.body, request.body_digest, status=self._status
            )
            # Read-your-writes: the session listing, the events trail and the order lookup see this
            # operation once the platform has its answer. An audit-store outage therefore delays the
            # answer (the API's bounded wait turns it into a retry hint), never loses the record.
            if workflow.patched(AUDIT_BEFORE_ANSWER_PATCH):
                await self._stored()
        finally:
            self._updates_in_flight -= 1
        return result

    async def _perform(self, operation: Operation, request: OperationRequest) -> OperationResult:
        if operation is Operation.CREATE:
            return await self._create(request)
        merchant_operation = {
            Operation.UPDATE: MerchantOperation.UPDATE,
            Operation.COMPLETE: MerchantOperation.COMPLETE,
            Operation.CANCEL: MerchantOperation.CANCEL,
            Operation.REFRESH: MerchantOperation.GET,
        }[operation]
        outcome = await self._call_merchant(merchant_operation, self._merchant_checkout_id, request.body)
        if isinstance(outcome, UcpError):
            if operation is Operation.COMPLETE and outcome.code in _OUTCOME_UNKNOWN:
                self._reconcile = True
                self._changes += 1
            return _error_result(operation, request, outcome)
        if lifecycle.is_error_envelope(outcome.body):
            return _result(operation, request, 200, outcome.body)
        self._apply_checkout(outcome.body, cause=operation.value)
        return _result(operation, request, 200, self._presented())

    async def _create(self, request: OperationRequest) -> OperationResult:
        try:
            merchant = await self._discover()
            if isinstance(merchant, UcpError):
                return _error_result(Operation.CREATE, request, merchant)
            self._merchant = merchant
            outcome = await self._call_merchant(MerchantOperation.CREATE, None, request.body)
            if isinstance(outcome, UcpError):
                return _error_result(Operation.CREATE, request, outcome)
            if lifecycle.is_error_envelope(outcome.body):
                # UCP business outcome: no checkout exists (TRN-15); the envelope goes back as is.
                return _result(Operation.CREATE, request, 200, outcome.body)
            merchant_id = outcome.body.get("id")
            self._merchant_checkout_id = merchant_id if isinstance(merchant_id, str) else None
            self._apply_checkout(outcome.body, cause=Operation.CREATE.value)
            return _result(Operation.CREATE, request, 201, self._presented())
        finally:
            self._created = True
            self._changes += 1

    @workflow.update(name=ORDER_READ_UPDATE)
    async def read_order(self, request: OrderRead) -> OrderReadResult:
        """GET of the order, proxied to the merchant and audited (DESIGN "Orders").

        The merchant's signed order is the full entity, so it replaces the
        snapshot the webhooks left. A read changes nothing at the merchant, so it
        takes no lock and no idempotency record; a failed read is reported as
        it is, never papered over with the older snapshot.
        """
        self._updates_in_flight += 1
        try:
            outcome = await self._call_merchant(MerchantOperation.GET_ORDER, request.order_id, None)
        finally:
            self._updates_in_flight -= 1
        if isinstance(outcome, UcpError):
            result = OrderReadResult(http_status=outcome.http_status, body=outcome.to_json_dict())
        else:
            if not lifecycle.is_error_envelope(outcome.body):
                self._order = outcome.body
            result = OrderReadResult(http_status=200, body=outcome.body)
        self._audit_answer(ORDER_READ_UPDATE, result.http_status, result.body, None, order_id=request.order_id)
        return result

    @read_order.validator
    def _validate_read_order(self, request: OrderRead) -> None:
        if request.merchant_id != self._start.merchant_id or request.order_id != self._order_id():
            raise _rejection(UcpError("no such order", code=ErrorCode.NOT_FOUND))
        self._refuse_when_busy()

    # ---------------------------------------------------------- signals/query

    @workflow.signal(name=ORDER_EVENT_SIGNAL)
    def order_event(self, event: OrderEvent) -> None:
        """A verified merchant order webhook: full snapshot, deduplicated by Webhook-Id (ORD-18, ORD-24).

        A signed order for this checkout proves the merchant completed it, so a
        session waiting in ``complete_in_progress`` (or on an unknown complete
        outcome) becomes ``completed`` at once; the order snapshot replaces the
        previous one (webhooks carry the full entity).
        """
        if event.webhook_id in self._order_event_ids:
            return
        self._order_event_ids.append(event.webhook_id)
        del self._order_event_ids[:-MAX_REMEMBERED_WEBHOOK_IDS]
        self._order = event.order
        self._changes += 1
        self._audit(
            actor=f"merchant:{self._start.merchant_id}",
            action="order_event",
            outcome="accepted",
            payload={"webhook_id": event.webhook_id, "order_id": str(event.order.get("id"))},
        )
        if (
            self._checkout is not None
            and self._status != lifecycle.COMPLETED
            and (self._status == lifecycle.COMPLETE_IN_PROGRESS or self._reconcile)
        ):
            confirmation = {
                key: event.order[key] for key in ("id", "permalink_url") if isinstance(event.order.get(key), str)
            }
            self._apply_checkout(
                {**self._checkout, "status": lifecycle.COMPLETED, "order": confirmation}, cause="order_webhook"
            )
        self._queue_notification("order.updated", {"order": event.order})

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> SessionView:
        return SessionView(
            platform_id=self._start.platform_id,
            session_id=self._start.session_id,
            merchant_id=self._start.merchant_id,
            merchant_checkout_id=self._merchant_checkout_id,
            status=self._status,
            checkout=self._presented() if self._checkout is not None else None,
            order=self._order,
            status_history=self._history,
            pending_actions=self._pending_actions(),
            created_at=self._created_at,
            closed_at=self._closed_at,
        )

    def _pending_actions(self) -> list[str]:
        actions = []
        if self._status == lifecycle.REQUIRES_ESCALATION:
            actions.append("buyer_handoff_via_continue_url")
        if self._status == lifecycle.COMPLETE_IN_PROGRESS or self._reconcile:
            actions.append("polling_merchant_for_outcome")
        if self._status == lifecycle.READY_FOR_COMPLETE:
            actions.append("platform_may_complete")
        if self._storage_queue:
            actions.append(f"audit_writes_pending:{len(self._storage_queue)}")
        if self._notifications:
            actions.append(f"platform_notifications_pending:{len(self._notifications)}")
        return actions

    # ------------------------------------------------------------- internals

    def _order_id(self) -> str | None:
        """The merchant's order id, from a webhook snapshot or the completed checkout's ``order``."""
        for source in (self._order, (self._checkout or {}).get("order")):
            if isinstance(source, dict) and isinstance(source.get("id"), str):
                return str(source["id"])
        return None

    def _presented(self) -> dict[str, Any]:
        assert self._checkout is not None
        return lifecycle.presented_checkout(self._checkout, self._start.session_id)

    def _apply_checkout(self, checkout: dict[str, Any], *, cause: str) -> None:
        self._checkout = checkout
        self._changes += 1
        new_status = lifecycle.merchant_status(checkout)
        if new_status is not None and new_status != lifecycle.COMPLETE_IN_PROGRESS:
            self._reconcile = False
        if new_status is None or new_status == self._status:
            return
        self._status = new_status
        self._polls = 0
        now = workflow.now()
        self._history.append(StatusChange(status=new_status, at=now, cause=cause))
        if new_status in lifecycle.TERMINAL:
            self._closed_at = now
        workflow.upsert_search_attributes([search_attributes.STATUS.value_set(new_status)])
        self._storage_queue.append(
            SessionIndexRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                merchant_id=self._start.merchant_id,
                merchant_checkout_id=self._merchant_checkout_id,
                order_id=self._order_id(),
                status=new_status,
                created_at=self._created_at,
                updated_at=now,
                version=len(self._history),
            )
        )
        self._audit(
            actor="connector",
            action="status_changed",
            outcome="succeeded",
            payload={"status": new_status, "cause": cause},
        )
        if cause not in _SYNCHRONOUS_CAUSES:
            self._queue_notification("checkout.status_changed", {"checkout": self._presented()})

    async def _refresh_from_merchant(self, cause: str) -> None:
        self._polls += 1
        async with self._merchant_lock:
            outcome = await self._call_merchant(MerchantOperation.GET, self._merchant_checkout_id, None)
        if isinstance(outcome, UcpError):
            if outcome.code is ErrorCode.MERCHANT_REQUEST_REJECTED and outcome.detail.get("http_status") == 404:
                # After expiry, a merchant may forget the session (CHK-16/17): it is gone, i.e. canceled.
                assert self._checkout is not None
                self._apply_checkout({**self._checkout, "status": lifecycle.CANCELED}, cause=cause)
            return
        if not lifecycle.is_error_envelope(outcome.body):
            self._apply_checkout(outcome.body, cause=cause)

    async def _discover(self) -> MerchantProfileSummary | UcpError:
        try:
            # A local activity: the profile is almost always in the worker's cache, so a server round trip
            # (schedule, start, complete) would cost more than the work.
            summary: MerchantProfileSummary = await workflow.execute_local_activity(
                ActivityName.DISCOVER_MERCHANT,
                DiscoverMerchantInput(merchant_id=self._start.merchant_id),
                start_to_close_timeout=dt.timedelta(seconds=20),
                schedule_to_close_timeout=dt.timedelta(minutes=1),
                retry_policy=_MERCHANT_RETRY,
                summary=f"discover {self._start.merchant_id}",
                result_type=MerchantProfileSummary,
            )
            return summary
        except ActivityError as error:
            return _activity_failure(error, ErrorCode.PROFILE_UNREACHABLE)

    async def _call_merchant(
        self, operation: MerchantOperation, resource_id: str | None, body: dict[str, Any] | None
    ) -> MerchantReply | UcpError:
        self._merchant_call_seq += 1
        key = (
            outbound_idempotency_key(workflow.info().workflow_id, self._merchant_call_seq)
            if operation.method != "GET"
            else None
        )
        request_digest = _digest(body)
        try:
            reply: MerchantReply = await workflow.execute_activity(
                ActivityName.CALL_MERCHANT,
                CallMerchantInput(
                    merchant_id=self._start.merchant_id,
                    operation=operation,
                    resource_id=resource_id,
                    body=body,
                    idempotency_key=key,
                ),
                start_to_close_timeout=dt.timedelta(seconds=self._start.merchant_call_timeout_seconds),
                schedule_to_close_timeout=_MERCHANT_DEADLINES[operation],
                retry_policy=_MERCHANT_RETRY,
                summary=f"{operation.value} at {self._start.merchant_id}",
                result_type=MerchantReply,
            )
        except ActivityError as error:
            failure = _activity_failure(error, ErrorCode.MERCHANT_UNAVAILABLE)
            self._audit(
                actor="connector",
                action=f"merchant.{operation.value}",
                outcome="failed",
                error_code=failure.code.value,
                request_digest=request_digest,
                payload={"merchant_idempotency_key": key, "detail": failure.detail},
            )
            return failure
        self._audit(
            actor="connector",
            action=f"merchant.{operation.value}",
            outcome="succeeded",
            request_digest=request_digest,
            response_digest=reply.response_digest,
            payload={"merchant_idempotency_key": key, "http_status": reply.status_code, "signed_by": reply.signed_by},
        )
        return reply

    def _audit(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        error_code: str | None = None,
        request_digest: str | None = None,
        response_digest: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._audit_seq += 1
        self._storage_queue.append(
            AuditRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                seq=self._audit_seq,
                occurred_at=workflow.now(),
                actor=actor,
                action=action,
                outcome=outcome,
                error_code=error_code,
                request_digest=request_digest,
                response_digest=response_digest,
                payload=payload or {},
            )
        )

    def _queue_notification(self, event_type: str, payload: dict[str, Any]) -> None:
        if self._start.platform_webhook_url is None:
            return
        self._notification_seq += 1
        self._notifications.append(
            PlatformNotification(
                event_id=f"{self._start.session_id}.{self._notification_seq}",
                platform_id=self._start.platform_id,
                webhook_url=self._start.platform_webhook_url,
                allow_insecure_loopback=self._start.platform_webhook_allow_insecure_loopback,
                event_type=event_type,
                occurred_at=workflow.now(),
                payload={"session_id": self._start.session_id, "merchant_id": self._start.merchant_id, **payload},
            )
        )

    def _audit_answer(
        self, action: str, http_status: int, body: dict[str, Any], request_digest: str | None, **payload: Any
    ) -> None:
        """What the platform asked for and what it was answered."""
        self._audit(
            actor=f"platform:{self._start.platform_id}",
            action=action,
            outcome="accepted" if http_status < 400 else "rejected",
            error_code=body.get("code") if http_status >= 400 else None,
            request_digest=request_digest,
            payload={"http_status": http_status, **payload},
        )

    async def _stored(self) -> None:
        """Until everything queued so far is in the store: an answer is never ahead of its audit trail."""
        target = self._storage_written + len(self._storage_queue)
        await workflow.wait_condition(lambda: self._storage_written >= target)

    async def _drain(self, queue: list[Any], deliver: Callable[[list[Any]], Any], *, batch: int) -> None:
        """Deliver queued items in order, up to ``batch`` at a time; items leave the queue only once delivered."""
        while True:
            await workflow.wait_condition(lambda: bool(queue))
            head = queue[:batch]
            await deliver(head)
            del queue[: len(head)]

    async def _write_storage(self, items: list[AuditRecord | SessionIndexRecord]) -> None:
        audits = [item for item in items if isinstance(item, AuditRecord)]
        what = f"audit #{audits[0].seq}-#{audits[-1].seq}" if audits else "session index"
        await workflow.execute_activity(
            ActivityName.WRITE_BATCH,
            StorageBatch(items=items),
            # Answers wait for these writes, so a worker that dies mid-write must be noticed soon; a
            # retry is harmless (writes are idempotent on (session, seq)). Covers the store's own
            # connect (5 s) and lock (10 s) timeouts.
            start_to_close_timeout=dt.timedelta(seconds=20),
            retry_policy=_FOREVER_RETRY,
            summary=f"write {what} ({len(items)} items)",
        )
        self._storage_written += len(items)

    async def _notify(self, notifications: list[PlatformNotification]) -> None:
        [notification] = notifications
        try:
            await workflow.execute_activity(
                ActivityName.NOTIFY_PLATFORM,
                notification,
                start_to_close_timeout=dt.timedelta(seconds=30),
                schedule_to_close_timeout=dt.timedelta(hours=24),
                retry_policy=RetryPolicy(
                    initial_interval=dt.timedelta(seconds=2),
                    backoff_coefficient=2.0,
                    maximum_interval=dt.timedelta(minutes=10),
                ),
                summary=f"notify platform: {notification.event_type}",
            )
            outcome = "succeeded"
        except ActivityError:
            outcome = "failed"  # abandoned after 24 h of retries
        self._audit(
            actor="connector",
            action="platform_notification",
            outcome=outcome,
            payload={"event_id": notification.event_id, "event_type": notification.event_type},
        )


def _digest(body: dict[str, Any] | None) -> str | None:
    return None if body is None else content_digest(canonical_json(body))


def _activity_failure(error: ActivityError, default: ErrorCode) -> UcpError:
    """Turn an activity's final failure into the frozen error the platform will see."""
    cause = error.cause
    if isinstance(cause, TemporalTimeoutError):
        return UcpError("the merchant did not answer in time", code=ErrorCode.MERCHANT_TIMEOUT)
    return decode_failure(cause) or UcpError(str(cause or error), code=default)
