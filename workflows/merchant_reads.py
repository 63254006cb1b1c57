"""The session's reads of its merchant: order reads, read-through GETs, polls (issue 11.1, 11.5).

A mixin of :class:`workflows.checkout.CheckoutSessionWorkflow` (its handlers are
the workflow's; Temporal collects inherited ones), kept apart so each module
keeps one job — the workflow class decides the platform operations, this one
reads what the merchant knows:

* ``read_order`` — the platform's GET of its order, proxied to the merchant
  (signed, verified, audited), the answer replacing the webhooks' snapshot;

* ``read_checkout`` — a platform's GET while the session waits at the merchant
  (its buyer on ``continue_url``, or an outcome): one merchant read, bounded
  and coalesced by the validator (``workflows.read_through``), so a refused read
  writes nothing to the history and the API answers from the Query;
* a ``complete`` while ``requires_escalation`` is the platform's retry after the
  hand-off (CMP-05): the merchant is read first, and only a ``ready_for_complete``
  goes on to the complete; otherwise the escalation is answered again, no
  order placed (CHK-03);
* every merchant read (poll, expiry, read-through) is dropped when the status
  moved while it was out: a webhook may have completed the session meanwhile,
  and the read may predate the order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.errors import encode_failure
    from activities.types import MerchantOperation
    from contracts import ErrorCode, UcpError
    from workflows import lifecycle, orders, read_through
    from workflows.merchant_calls import MerchantCalls
    from workflows.outbox import Outbox
    from workflows.types import (
        CHECKOUT_READ_UPDATE,
        ORDER_READ_UPDATE,
        CheckoutRead,
        Operation,
        OperationRequest,
        OperationResult,
        OrderRead,
        OrderReadResult,
        SessionStart,
        SessionState,
        SessionView,
    )


class MerchantReads:
    """The workflow's merchant reads: order reads, read-through GETs, the re-read before a retried complete, polls."""

    state: SessionState
    _start: SessionStart
    _merchant: MerchantCalls
    _outbox: Outbox
    _merchant_lock: asyncio.Lock
    _updates_in_flight: int
    _last_read_through: dt.datetime | None = None  # per run: a continued run may read once more, no harm

    if TYPE_CHECKING:

        def view(self) -> SessionView: ...

        def _mirror(self, checkout: dict[str, Any], *, cause: str) -> None: ...

        def _presented(self) -> dict[str, Any]: ...

        def _busy(self) -> UcpError | None: ...

    @workflow.update(name=ORDER_READ_UPDATE)
    async def read_order(self, request: OrderRead) -> OrderReadResult:
        """GET of the order, proxied to the merchant and audited (``workflows.orders.read``)."""
        self._updates_in_flight += 1
        try:
            return await orders.read(self.state, self._outbox, self._merchant, request)
        finally:
            self._updates_in_flight -= 1

    @read_order.validator
    def _validate_read_order(self, request: OrderRead) -> None:
        refusal = orders.read_refusal(self.state, self._start.merchant_id, request)
        if refusal is not None:
            raise refusal
        busy = self._busy()
        if busy is not None:
            raise encode_failure(busy)

    @workflow.update(name=CHECKOUT_READ_UPDATE)
    async def read_checkout(self, request: CheckoutRead) -> SessionView:
        """A platform's GET while the session waits at the merchant: the merchant's checkout, read now."""
        self._last_read_through = workflow.now()
        async with self._merchant_lock:
            await self._read_merchant("read_through")
        return self.view()

    @read_checkout.validator
    def _validate_read_checkout(self, request: CheckoutRead) -> None:
        """At most one read per interval, none beside another merchant call (so at most one in flight)."""
        error = (
            UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
            if request.merchant_id != self._start.merchant_id
            else read_through.refusal(
                self.state.status,
                self.state.reconcile,
                self._last_read_through,
                workflow.now(),
                merchant_busy=self._merchant_lock.locked(),
            )
        )
        if error is not None:
            raise encode_failure(error)

    async def _refresh_from_merchant(self, cause: str) -> None:
        self.state.polls += 1
        async with self._merchant_lock:
            await self._read_merchant(cause)

    async def _read_merchant(self, cause: str) -> None:
        """GET the merchant's checkout and mirror it, unless the status moved while the read was out (11.5)."""
        moves = len(self.state.status_history)
        outcome = await self._merchant.call(MerchantOperation.GET, self.state.merchant_checkout_id)
        if len(self.state.status_history) != moves and workflow.patched(lifecycle.STATUS_FORWARD_PATCH):
            return
        if isinstance(outcome, UcpError):
            if lifecycle.merchant_forgot(outcome):
                assert self.state.checkout is not None
                self._mirror({**self.state.checkout, "status": lifecycle.CANCELED}, cause=cause)
            return
        if not lifecycle.is_error_envelope(outcome.body):
            self._mirror(outcome.body, cause=cause)

    async def _after_hand_off(self, request: OperationRequest) -> OperationResult | None:
        """A complete in ``requires_escalation``: the answer if it must not complete now; ``None``: complete."""
        await self._read_merchant("read_through")
        if self.state.status == lifecycle.REQUIRES_ESCALATION:  # CHK-03: still the buyer's turn
            body, status = self._presented(), 200
        else:
            error = lifecycle.refusal(Operation.COMPLETE, self.state, self._start.policy)
            if error is None:
                return None
            body, status = error.to_json_dict(), error.http_status
        return OperationResult(
            operation=Operation.COMPLETE, http_status=status, body=body, request_digest=request.body_digest
        )
