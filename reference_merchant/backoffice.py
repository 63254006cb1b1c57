"""What happens at the merchant outside the UCP API: the buyer on ``continue_url``, the clock, the warehouse.

* :meth:`Backoffice.resolve_escalations` — the buyer did what an escalation
  asked on the merchant's page (:mod:`reference_merchant.handoff`, or tests
  through ``ReferenceMerchant.complete_buyer_handoff``): those escalations
  stay resolved for the session and its status is derived again.
* :meth:`Backoffice.tick` — one pass of time-driven work: expiry, settlement
  of asynchronous completions, automatic order progression, idempotency purge.
* Inspection for tests and the demo (no HTTP route reaches any of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ucp import CheckoutStatus, Severity
from reference_merchant import lifecycle
from reference_merchant.idempotency import IdempotencyLedger
from reference_merchant.order_desk import order_count
from reference_merchant.pricing import Rendered
from reference_merchant.service import MerchantService
from reference_merchant.state import CheckoutState, OrderState
from reference_merchant.store import CheckoutRow, Database, OrderRow, epoch
from reference_merchant.transactions import Transactions

PURGE_EVERY = dt.timedelta(minutes=1)
OPEN_STATUSES = tuple(status.value for status in lifecycle.OPEN)
THREE_DS = "requires_3ds"


@dataclass(frozen=True)
class CheckoutView:
    """A checkout as the buyer's page shows it."""

    state: CheckoutState
    rendered: Rendered

    def escalations(self) -> list[str]:
        """Codes of the open escalations (``requires_buyer_*`` errors) the buyer can resolve on the page."""
        if self.state.status is not CheckoutStatus.REQUIRES_ESCALATION:
            return []
        return [
            message["code"]
            for message in self.rendered.messages
            if message["type"] == "error" and Severity(message["severity"]).requires_escalation
        ]


class Backoffice:
    def __init__(
        self, *, service: MerchantService, transactions: Transactions, database: Database, ledger: IdempotencyLedger
    ) -> None:
        self._service = service
        self._tx = transactions
        self._db = database
        self._ledger = ledger
        self._last_purge: dt.datetime | None = None

    async def view(self, checkout_id: str) -> CheckoutView:
        async def work(session: AsyncSession, now: dt.datetime) -> CheckoutView:
            _, state = await self._service.load(session, checkout_id, now)
            return CheckoutView(state, self._service.render(state))

        return await self._tx.run(work)

    async def resolve_escalations(self, checkout_id: str, codes: Collection[str] | None = None) -> CheckoutStatus:
        """Clear the open escalations named by ``codes`` (all of them when ``None``); return the new status."""

        async def work(session: AsyncSession, now: dt.datetime) -> CheckoutStatus:
            row, state = await self._service.load(session, checkout_id, now)
            if state.status is not CheckoutStatus.REQUIRES_ESCALATION:
                return state.status
            for code in CheckoutView(state, self._service.render(state)).escalations():
                if codes is None or code in codes:
                    state.cleared_escalations.append(code)
                    if code == THREE_DS:
                        state.pending_escalation = None
            state.status = self._service.render(state).status
            self._service.save(row, state, now)
            return state.status

        return await self._tx.run(work)

    async def expire_checkout(self, checkout_id: str) -> CheckoutStatus:
        """Make ``expires_at`` now; an open session becomes ``canceled`` right away."""

        async def work(session: AsyncSession, now: dt.datetime) -> CheckoutStatus:
            row, state = await self._service.load(session, checkout_id, now)
            if lifecycle.expires(state.status):
                state.expires_at = now
                self._service.save(row, state, now)
                await self._service.advance(session, row, state, now)
            return state.status

        return await self._tx.run(work)

    async def checkout_state(self, checkout_id: str) -> CheckoutState:
        async with self._db.session() as session:
            row = await session.get(CheckoutRow, checkout_id)
            if row is None:
                raise KeyError(checkout_id)
            return CheckoutState.model_validate(row.state)

    async def order_for_checkout(self, checkout_id: str) -> OrderState | None:
        async with self._db.session() as session:
            rows = list(await session.scalars(select(OrderRow).where(OrderRow.checkout_id == checkout_id)))
        return OrderState.model_validate(rows[0].state) if rows else None

    async def count_orders(self) -> int:
        async with self._db.session() as session:
            return await order_count(session)

    async def tick(self) -> None:
        """One pass of time-driven work: expiry, settlement, order progression, idempotency purge."""

        async def work(session: AsyncSession, now: dt.datetime) -> None:
            due = await session.scalars(
                select(CheckoutRow).where(
                    or_(
                        (CheckoutRow.status.in_(OPEN_STATUSES)) & (CheckoutRow.expires_at <= epoch(now)),
                        (CheckoutRow.status == CheckoutStatus.COMPLETE_IN_PROGRESS.value)
                        & (CheckoutRow.completes_at <= epoch(now)),
                    )
                )
            )
            for row in list(due):
                await self._service.advance(session, row, CheckoutState.model_validate(row.state), now)
            for step, column in (("shipped", OrderRow.ship_at), ("delivered", OrderRow.deliver_at)):
                for order_row in list(await session.scalars(select(OrderRow).where(column <= epoch(now)))):
                    await self._service.orders.progress(session, order_row, step, now)
            if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
                await self._ledger.purge(session, now)
                self._last_purge = now

        await self._tx.run(work)
