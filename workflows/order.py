"""``CheckoutOrderWorkflow``: a finished session's order, followed after its checkout workflow has closed.

Decision 0001 (``docs/decisions/0001-finished-sessions-close.md``): a checkout
workflow started by this build completes at its terminal status, so the
Temporal UI shows a finished session as finished. What a merchant does with the
order afterwards (shipped, delivered, refunded: signed order webhooks, ORD-18)
and the platform's order reads still need a durable home that dedups, audits
and notifies exactly as the session did; this workflow is it:

* one per session, id ``{checkout workflow id}/order``
  (:func:`workflows.types.order_workflow_id`), started by the API with
  signal-with-start (a webhook) or update-with-start (an order read) from the
  state the checkout workflow closed with (its result's ``closed``);
* the same rules as the open session: ``workflows.orders`` (dedup on the
  event's signed identity, ORD-24; never an older snapshot, ORD-25; every
  event audited), the same outbox (the session's audit chain and notification
  numbering go on where the checkout workflow left them, so the platform's
  ``order.updated`` webhooks are the same), the same signed merchant read;
* the ``view`` Query answers as the session's own does;
* it completes after :data:`IDLE` without an event or a read, with its state as
  the result: the next event starts it again from that state (the API reads
  it), so it too shows Running only while it has something to follow.
  Long histories continue as new, as the session's do.

No I/O, clock or randomness here: time is ``workflow.now()``, I/O is activities.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import lifecycle, orders, waits
    from workflows.merchant_calls import MerchantCalls
    from workflows.outbox import Outbox
    from workflows.types import (
        ORDER_EVENT_SIGNAL,
        ORDER_READ_UPDATE,
        ORDER_WORKFLOW_TYPE,
        VIEW_QUERY,
        ClosedSession,
        OrderEvent,
        OrderRead,
        OrderReadResult,
        SessionView,
    )

IDLE: Final = dt.timedelta(hours=24)  # no event or read for this long: the order workflow completes


@workflow.defn(name=ORDER_WORKFLOW_TYPE)
class CheckoutOrderWorkflow:
    @workflow.init
    def __init__(self, start: ClosedSession) -> None:
        self._start = start.session
        self.state = start.state
        self._outbox = Outbox(self._start, self.state)
        self._merchant = MerchantCalls(self._start, self.state, self._outbox)
        self._changes = 0

    @workflow.run
    async def run(self, start: ClosedSession) -> SessionView:
        self._outbox.start()
        while await self._active_within(IDLE):
            if self._continue_as_new_due():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._outbox.stop()
                workflow.continue_as_new(start.model_copy(update={"state": self.state}))
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._outbox.empty)
        self._outbox.stop()
        return self.view().model_copy(update={"closed": start.model_copy(update={"state": self.state})})

    async def _active_within(self, idle: dt.timedelta) -> bool:
        """True when an event or a read came (or a continuation fell due) before ``idle`` passed."""
        return await waits.changed_within(lambda: self._changes, idle, stop=self._continue_as_new_due)

    def _continue_as_new_due(self) -> bool:
        return waits.continue_as_new_due(self._start.continue_as_new_after_events)

    @workflow.signal(name=ORDER_EVENT_SIGNAL)
    def order_event(self, event: OrderEvent) -> None:
        """A verified merchant order webhook: deduplicated, never older, audited, passed on to the platform."""
        self._changes += 1
        order = orders.accept(self.state, self._outbox, self._start.merchant_id, event)
        if order is not None:
            self._outbox.notify("order.updated", {"order": order})

    @workflow.update(name=ORDER_READ_UPDATE)
    async def read_order(self, request: OrderRead) -> OrderReadResult:
        """The platform's GET of its order, read from the merchant (``workflows.orders.read``)."""
        self._changes += 1
        return await orders.read(self.state, self._outbox, self._merchant, request)

    @read_order.validator
    def _validate_read_order(self, request: OrderRead) -> None:
        refusal = orders.read_refusal(self.state, self._start.merchant_id, request)
        if refusal is not None:
            raise refusal

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> SessionView:
        return lifecycle.session_view(self._start, self.state, self._outbox.pending_actions())
