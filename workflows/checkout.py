"""``CheckoutSessionWorkflow``: one durable workflow per UCP checkout session.

How it reads (DESIGN.md invariants 3-6, "Checkout lifecycle"):

* **Create** arrives as an Update-With-Start (``create``); later platform
  operations are Updates named ``update``, ``complete``, ``cancel`` and
  ``refresh`` whose update id is ``{operation}:{Idempotency-Key}``. Each update
  has a *validator*: an illegal transition, a policy refusal or a reused key is
  rejected before anything is written to history.
* ``read_order`` (the platform's GET of its order) is an Update too: a signed,
  audited merchant call, without Idempotency-Key or lock (it changes nothing).
* Every handler that changes the merchant session holds ``_merchant_lock``:
  strictly ordered calls, one outbound key per operation sequence (invariant 4).
* A session started by this build (``SessionStart.behaviour``) answers each
  operation in one workflow task: the merchant call and its audit trail are one
  local activity (``merchant_calls``, ``activities/operation.py``; issue 13).
* The workflow remembers, per platform key, the body digest and the result,
  so a replay returns the identical result, also after ``continue_as_new``,
  when Temporal's own update-id dedup no longer reaches back.
* The run method mirrors the merchant: it polls with backoff while
  ``complete_in_progress``, re-reads the session when ``expires_at`` passes,
  accepts order webhooks as signals, notifies the platform of changes it did
  not cause itself. A session started by this build completes once it is
  terminal and its handlers and outbox are drained; its result carries the
  state the API answers replays from, and later order events go to the
  session's order workflow (``workflows/order.py``; decision 0001). Older
  sessions stay open for the 48 h idempotency window, as they were recorded.
* Everything the session knows is one :class:`~workflows.types.SessionState`,
  which ``continue_as_new`` carries whole; audit events, index rows and
  notifications leave through the ordered ``outbox``; the rules are pure
  functions in ``lifecycle``; every activity's options stand in ``activity_options``.

No I/O, clock or randomness here: time is ``workflow.now()``, I/O is activities.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import encode_failure
    from activities.types import MerchantOperation, MerchantProfileSummary
    from contracts import ErrorCode, UcpError
    from contracts.ucp.outcomes import business_outcomes
    from workflows import claims, lifecycle, orders, search_attributes, waits
    from workflows.merchant_calls import MerchantCalls, PlatformAnswer
    from workflows.merchant_reads import MerchantReads
    from workflows.outbox import Outbox
    from workflows.types import (
        CLOSES_AT_TERMINAL,
        ONE_TASK_PER_OPERATION,
        ORDER_EVENT_SIGNAL,
        VIEW_QUERY,
        WORKFLOW_TYPE,
        ClosedSession,
        IdempotencyRecord,
        Operation,
        OperationRequest,
        OperationResult,
        OrderEvent,
        SessionStart,
        SessionState,
        SessionView,
        StatusChange,
    )

MAX_UPDATES_IN_FLIGHT: Final = 6  # the server caps a run at 10 in-flight updates
AUDIT_BEFORE_ANSWER_PATCH: Final = "audit-before-answer"  # histories recorded before it answered earlier
MERCHANT_RELEASE_PATCH: Final = "merchant-release"  # issue 15: record the negotiated UCP release
_SYNCHRONOUS_CAUSES: Final = frozenset(operation.value for operation in Operation)


@workflow.defn(name=WORKFLOW_TYPE)
class CheckoutSessionWorkflow(MerchantReads):
    @workflow.init
    def __init__(self, start: SessionStart) -> None:
        self._start = start
        self.state = start.carried if start.carried is not None else SessionState(created_at=workflow.now())
        self._outbox = Outbox(start, self.state)
        self._merchant = MerchantCalls(start, self.state, self._outbox)
        # Per run only: a continued run starts with a free lock, nothing in flight, nothing to wake for.
        self._merchant_lock = asyncio.Lock()
        self._updates_in_flight = 0
        self._changes = 0  # bumped on every state change the run loop must look at
        # Sessions started by this build (SessionStart.behaviour): one workflow task per operation (issue 13).
        # Older sessions keep the commands they were recorded with, so their histories replay.
        self._current = start.behaviour >= ONE_TASK_PER_OPERATION
        self._release_attribute: str | None = None  # upserted with the first status (one event, not two)

    @workflow.run
    async def run(self, start: SessionStart) -> SessionView:
        self._outbox.start()
        # Issue 12.11: a create lost right after the start (a Temporal kill) must not keep a session open forever.
        arrived = lambda: self.state.created or bool(self.state.idempotency)  # noqa: E731 - set before its first await
        if self._current and not await waits.arrived_within(arrived, lifecycle.CREATE_DEADLINE):
            return self._never_created()
        await workflow.wait_condition(lambda: self.state.created)
        while not self._finished():
            await self._step()
            if self._continue_as_new_due():
                # Queued audit writes and notifications travel in the state; one in flight right now is
                # re-sent by the next run, which is safe: both are idempotent.
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._outbox.stop()
                workflow.continue_as_new(self._start.model_copy(update={"carried": self.state}))
        if self._start.behaviour >= CLOSES_AT_TERMINAL:
            # A short, bounded grace: the merchant's order webhook usually follows its complete at once, and
            # the task that answers the last operation never also closes the workflow (decision 0001).
            await workflow.sleep(lifecycle.CLOSE_GRACE, summary="grace before closing")
        # Before finishing: let running updates end and every queued write and notification go out.
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._outbox.empty)
        self._outbox.stop()
        if self._start.behaviour >= CLOSES_AT_TERMINAL:
            # Replays from now on are answered from this result (api/gateway.py), order events go to the
            # session's order workflow, which starts from the state (decision 0001).
            closed = ClosedSession(session=self._start.model_copy(update={"carried": None}), state=self.state)
            return self.view().model_copy(update={"closed": closed})
        return self.view()

    def _finished(self) -> bool:
        """Nothing is left to do: a current session at its terminal status (or whose create failed, no status)
        and no lost complete left to claim within the 48 h window (``claims``); an older one once that window
        has passed (it stayed open to answer replays)."""
        if self._start.behaviour >= CLOSES_AT_TERMINAL:
            unclaimed = self.state.lost_complete_seq is not None and not lifecycle.window_closed(
                self.state, workflow.now()
            )
            return lifecycle.window_end(self.state) is not None and not unclaimed
        return lifecycle.window_closed(self.state, workflow.now())

    def _never_created(self) -> SessionView:
        """Close as failed, saying why (``session show``); the platform's retry of the create starts afresh."""
        self.state.closed_reason = lifecycle.NEVER_CREATED
        search_attributes.upsert(lifecycle.NEVER_CREATED)
        self._outbox.stop()
        raise ApplicationError(lifecycle.NEVER_CREATED_TEXT, type=lifecycle.NEVER_CREATED, non_retryable=True)

    async def _step(self) -> None:
        """Wait for whatever the current status needs, then act on it."""
        window_end = lifecycle.window_end(self.state)
        if window_end is not None:
            await self._changed_within(window_end - workflow.now())
        elif lifecycle.awaiting_outcome(self.state):
            if not await self._changed_within(lifecycle.poll_backoff(self.state.polls)):
                await self._refresh_from_merchant("poll")
        else:
            due = lifecycle.expiry_check_due(self.state)
            # A current session keeps its timer through changes that leave the check where it is (issue 13:
            # re-arming it on every operation cost two history events each).
            unchanged = (lambda: lifecycle.waits_for_expiry(self.state, due)) if self._current else None
            if not await self._changed_within(due - workflow.now(), unless=unchanged):
                self.state.last_expiry_check = workflow.now()
                await self._refresh_from_merchant("expiry")

    async def _changed_within(self, within: dt.timedelta, unless: Callable[[], bool] | None = None) -> bool:
        """True if the state changed (or a continuation fell due) within ``within`` (``waits.changed_within``)."""
        return await waits.changed_within(lambda: self._changes, within, stop=self._continue_as_new_due, unless=unless)

    def _continue_as_new_due(self) -> bool:
        return waits.continue_as_new_due(self._start.continue_as_new_after_events)

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
        """Refuse before anything is written to history; a replay is answered from its record."""
        error = lifecycle.request_error(operation, request, self._start.merchant_id, self.state)
        if error is None and request.idempotency_key not in self.state.idempotency:
            error = (
                claims.refusal(operation, self.state, self._start.policy)
                or lifecycle.safety_refusal(operation, self.state, request.body)
                or self._busy()
            )
        if error is not None:
            raise encode_failure(error)

    def _busy(self) -> UcpError | None:
        if self._updates_in_flight < MAX_UPDATES_IN_FLIGHT:
            return None
        return UcpError("too many concurrent operations on this session", code=ErrorCode.RATE_LIMITED, retry_after=1)

    async def _operate(self, operation: Operation, request: OperationRequest) -> OperationResult:
        key, digest = request.idempotency_key, request.body_digest
        record = self.state.idempotency.get(key)
        if record is not None and record.result is not None:
            return record.result
        self.state.idempotency[key] = IdempotencyRecord(operation=operation, digest=digest)
        self._updates_in_flight += 1
        try:
            async with self._merchant_lock:
                # The status may have moved while this update waited for the lock.
                error = claims.refusal(operation, self.state, self._start.policy)
                result = (
                    lifecycle.error_result(operation, request, error)
                    if error is not None
                    else await self._perform(operation, request)
                )
            result = result.model_copy(update={"merchant_id": self._start.merchant_id})
            self.state.idempotency[key] = IdempotencyRecord(operation=operation, digest=digest, result=result)
            self._outbox.audit_answer(
                operation.value, result.http_status, result.body, digest, status=self.state.status
            )
            # Read-your-writes: the session listing, the events trail and the order lookup see this
            # operation once the platform has its answer. An audit-store outage therefore delays the
            # answer (the API's bounded wait turns it into a retry hint), never loses the record.
            # A current session's merchant call usually stored them already, in the same activity.
            if not self._merchant.settle() and (self._current or workflow.patched(AUDIT_BEFORE_ANSWER_PATCH)):
                await self._outbox.stored()
        finally:
            self._updates_in_flight -= 1
        return result

    def _answer(self, operation: Operation, request: OperationRequest) -> PlatformAnswer | None:
        """For a current session, the platform answer its merchant call's activity stores the records of."""
        return PlatformAnswer.of(operation, request.body_digest) if self._current else None

    async def _perform(self, operation: Operation, request: OperationRequest) -> OperationResult:
        if operation is Operation.CREATE:
            return await self._create(request)
        if claims.claimable(operation, self.state):  # issue 11.5: the order of a complete lost on our side
            claimed = await claims.claim(self.state, self._merchant, request, self._start.session_id)
            self._changes += 1  # claimed or not, the run loop looks again whether the session may close
            return claimed
        if operation is Operation.COMPLETE and self.state.status == lifecycle.REQUIRES_ESCALATION:
            answered = await self._after_hand_off(request)  # CMP-05: the buyer may be back from continue_url
            if answered is not None:
                return answered
        outcome = await self._merchant.call(
            lifecycle.MERCHANT_OPERATION[operation],
            self.state.merchant_checkout_id,
            request.body,
            answer=self._answer(operation, request),
        )
        if isinstance(outcome, UcpError):
            if lifecycle.outcome_unknown(operation, outcome):
                self.state.reconcile = True
                self._changes += 1
            return lifecycle.error_result(operation, request, outcome)
        if lifecycle.is_error_envelope(outcome.body):
            return lifecycle.result(operation, request, 200, outcome.body)
        self._mirror(outcome.body, cause=operation.value)
        return lifecycle.result(operation, request, 200, self._presented())

    async def _create(self, request: OperationRequest) -> OperationResult:
        try:
            # The API's negotiation, when it had one (issue 13: one activity and one activation less).
            merchant = self._start.merchant if self._start.merchant is not None else await self._merchant.discover()
            if isinstance(merchant, UcpError):
                return lifecycle.error_result(Operation.CREATE, request, merchant)
            self.state.merchant = merchant
            if self._current or workflow.patched(MERCHANT_RELEASE_PATCH):
                self._record_release(merchant)
            outcome = await self._merchant.call(
                MerchantOperation.CREATE, None, request.body, answer=self._answer(Operation.CREATE, request)
            )
            if isinstance(outcome, UcpError):
                return lifecycle.error_result(Operation.CREATE, request, outcome)
            if lifecycle.is_error_envelope(outcome.body):
                # UCP business outcome: no checkout exists (TRN-15); the envelope goes back as is.
                return lifecycle.result(Operation.CREATE, request, 200, outcome.body)
            merchant_checkout_id = outcome.body.get("id")
            self.state.merchant_checkout_id = merchant_checkout_id if isinstance(merchant_checkout_id, str) else None
            self._mirror(outcome.body, cause=Operation.CREATE.value)
            return lifecycle.result(Operation.CREATE, request, 201, self._presented())
        finally:
            self.state.created = True
            self._changes += 1
            if self._release_attribute is not None:  # no status was recorded: the release goes alone
                self._upsert_attributes()

    # ---------------------------------------------------------- signals/query

    @workflow.signal(name=ORDER_EVENT_SIGNAL)
    def order_event(self, event: OrderEvent) -> None:
        """A verified merchant order webhook: full snapshot, deduplicated by Webhook-Id (ORD-18, ORD-24).

        A signed order for this checkout proves the merchant completed it, so a
        session waiting in ``complete_in_progress`` (or on an unknown complete
        outcome), or still ``ready_for_complete`` because its complete was lost
        after the merchant placed the order, becomes ``completed`` at once; the
        order snapshot replaces the previous one (webhooks carry the full entity). The ready session's
        lost complete may then be replayed by the platform and claim the order (``workflows/claims.py``).
        """
        order = orders.accept(self.state, self._outbox, self._start.merchant_id, event)
        if order is None:
            return  # a duplicate, or an older snapshot than the one kept
        self._changes += 1
        # A ready session's complete may have been lost here after the merchant placed the order (the marker
        # only where that happens, so other sessions' histories stay as they were).
        from_ready = lifecycle.order_completes_ready(self.state) and workflow.patched(
            lifecycle.ORDER_COMPLETES_READY_PATCH
        )
        completed = lifecycle.completed_by_order(self.state, order, from_ready=from_ready)
        if completed is not None:
            if from_ready and claims.unclaimed(self.state) and workflow.patched(claims.LOST_COMPLETE_CLAIM_PATCH):
                claims.reserve(self.state)  # the platform's replay of that complete may claim the order
            self._mirror(completed, cause="order_webhook")
        self._outbox.notify("order.updated", {"order": order})

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> SessionView:
        return lifecycle.session_view(self._start, self.state, self._outbox.pending_actions())

    def _record_release(self, merchant: MerchantProfileSummary) -> None:
        """The UCP release the merchant speaks: in the audit trail and a search attribute (issue 15)."""
        if self._current:
            self._release_attribute = merchant.version  # upserted with the session's first status
        else:
            workflow.upsert_search_attributes([search_attributes.MERCHANT_VERSION.value_set(merchant.version)])
        self._outbox.audit(
            actor="connector",
            action="merchant_negotiated",
            outcome="succeeded",
            payload={"release": merchant.version, "capabilities": merchant.capabilities},
        )

    def _presented(self) -> dict[str, Any]:
        assert self.state.checkout is not None
        return lifecycle.presented_checkout(self.state.checkout, self._start.session_id)

    def _mirror(self, checkout: dict[str, Any], *, cause: str) -> None:
        """Take the merchant's checkout as authoritative; a new status is recorded, indexed, audited, notified."""
        state = self.state
        if lifecycle.contradicts_final(state, checkout) and workflow.patched(lifecycle.STATUS_FORWARD_PATCH):
            return  # a terminal status is final: an answer saying otherwise arrived late (issue 11.5)
        state.checkout = checkout
        self._changes += 1
        workflow.set_current_details(lifecycle.current_details(state, checkout, business_outcomes(checkout)))
        if lifecycle.merchant_status(checkout) not in (None, lifecycle.COMPLETE_IN_PROGRESS):
            state.reconcile = False
        new_status = lifecycle.reported_status(state, checkout)
        if new_status is None:
            return
        now = workflow.now()
        state.status, state.polls = new_status, 0
        state.status_history.append(StatusChange(status=new_status, at=now, cause=cause))
        if new_status in lifecycle.TERMINAL:
            state.closed_at = now
        self._upsert_attributes(new_status)
        self._outbox.index()
        self._outbox.audit(
            actor="connector",
            action="status_changed",
            outcome="succeeded",
            payload={"status": new_status, "cause": cause},
        )
        if cause not in _SYNCHRONOUS_CAUSES:
            self._outbox.notify("checkout.status_changed", {"checkout": self._presented()})

    def _upsert_attributes(self, status: str | None = None) -> None:
        search_attributes.upsert(status, self._release_attribute)
        self._release_attribute = None
