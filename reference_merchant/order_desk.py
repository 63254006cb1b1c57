"""Orders inside the merchant's transactions: placing one, progressing it, and queueing its webhooks.

An order is placed in the same transaction as the completion that causes it
(the order's ``checkout_id`` is unique, so a checkout can never produce two
orders). Each change queues a webhook in that transaction too
(:mod:`reference_merchant.webhooks`), rendered in the release the checkout was
completed in, for the platform whose profile named the ``webhook_url``.
"""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ucp import CheckoutStatus
from reference_merchant import orders
from reference_merchant.catalog import Catalog
from reference_merchant.config import MerchantConfig
from reference_merchant.pricing import Rendered
from reference_merchant.releases import Release
from reference_merchant.state import CheckoutState, OrderState
from reference_merchant.store import OrderRow, epoch
from reference_merchant.transactions import Transactions
from reference_merchant.webhooks import WebhookDispatcher

log = structlog.get_logger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


async def order_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)


class OrderDesk:
    def __init__(
        self,
        *,
        config: MerchantConfig,
        catalog: Catalog,
        served: dict[str, Release],
        webhooks: WebhookDispatcher,
        transactions: Transactions,
    ) -> None:
        self._config = config
        self._catalog = catalog
        self._served = served
        self._webhooks = webhooks
        self._tx = transactions

    def release_of(self, version: str) -> Release:
        return self._served.get(version) or self._served[self._config.ucp_version]

    def order_document(self, order: OrderState) -> dict[str, object]:
        release = self.release_of(order.release)
        return release.order_document(order.document, order.order_capability_version or release.version)

    async def place(self, session: AsyncSession, state: CheckoutState, rendered: Rendered, now: dt.datetime) -> None:
        """Turn a paid checkout into its order (CMP-12) and mark it ``completed``."""
        count = await order_count(session)
        order_id = new_id("ord")
        label = f"#{1001 + count}"
        document = orders.build_order(state, rendered, self._config, self._catalog, order_id=order_id, label=label)
        order = OrderState(
            id=order_id,
            checkout_id=state.id,
            platform=state.platform,
            webhook_url=state.webhook_url,
            order_capability_version=state.order_capability_version,
            release=state.release,
            document=document,
        )
        ship_after = self._config.auto_ship_after_seconds
        session.add(
            OrderRow(
                id=order_id,
                checkout_id=state.id,
                platform=state.platform,
                created_at=epoch(now),
                updated_at=epoch(now),
                ship_at=epoch(now + dt.timedelta(seconds=ship_after)) if ship_after is not None else None,
                deliver_at=None,
                state=order.model_dump(mode="json"),
            )
        )
        state.status = CheckoutStatus.COMPLETED
        state.order_id = order_id
        state.order_label = label
        state.completes_at = None
        state.pending_escalation = None
        self.notify(session, order, "order_created")
        log.debug("order.placed", order_id=order_id, checkout_id=state.id)

    def notify(self, session: AsyncSession, order: OrderState, event_type: str) -> None:
        if order.webhook_url is None:
            return
        self._tx.webhooks_queued = True
        self._webhooks.enqueue(
            session,
            order_id=order.id,
            url=order.webhook_url,
            event_type=event_type,
            release=self.release_of(order.release).version,
            snapshot=self.order_document(order),
        )

    async def progress_order(self, order_id: str, step: str) -> bool:
        """Apply ``shipped`` or ``delivered`` to an order and send its webhook; ``False`` if nothing changed."""

        async def work(session: AsyncSession, now: dt.datetime) -> bool:
            row = await session.get(OrderRow, order_id)
            if row is None:
                raise KeyError(order_id)
            return await self.progress(session, row, step, now)

        return await self._tx.run(work)

    async def progress(self, session: AsyncSession, row: OrderRow, step: str, now: dt.datetime) -> bool:
        order = OrderState.model_validate(row.state)
        if step == "shipped":
            changed = orders.ship(order, now)
            row.ship_at = None
            deliver_after = self._config.auto_deliver_after_seconds
            if changed and deliver_after is not None:
                row.deliver_at = epoch(now + dt.timedelta(seconds=deliver_after))
        elif step == "delivered":
            changed = orders.deliver(order, now)
            row.deliver_at = None
        else:
            raise ValueError(f"unknown order step {step!r}")
        if changed:
            row.state = order.model_dump(mode="json")
            row.updated_at = epoch(now)
            self.notify(session, order, f"order_{step}")
            log.debug("order.progressed", order_id=order.id, step=step)
        return changed
