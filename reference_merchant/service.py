"""The merchant's operations on checkouts and orders, over its database.

Each mutation runs under one lock and in one database transaction together
with its idempotency record and any webhook it causes (see
:mod:`reference_merchant.idempotency`), so a crash or a dropped response never
leaves half an operation behind and a checkout can never produce two orders
(the order's ``checkout_id`` is unique as well).

Lazy lifecycle: reading or changing a session first applies what time has
made true — an expired open session becomes ``canceled``, a due
``complete_in_progress`` becomes ``completed`` with its order — and the
background task does the same for sessions nobody reads.

Assumptions where the spec is silent:

* Update is a full replacement (checkout.md "Update Checkout"): an optional
  member left out of a PUT is cleared, not kept. (The OpenAPI description says
  the opposite; platforms that resend everything, as CHK-15 requires, see no
  difference.)
* Input the merchant cannot honour is reported, not refused, and references
  it cannot resolve are ``400 validation_failed`` (:mod:`reference_merchant.inputs`).
  Only when *no* item of a create can be sold is the answer the error envelope
  without a session (TRN-15). Notices last until the next update.
* Stock is not decremented by orders: the catalog is a fixture.
* A session or order of another platform does not exist for the caller
  (``not_found``), so ids leak nothing (ORD-08).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from contracts import ErrorCode, UcpError, parse_json, validate_profile_url
from contracts.ucp import (
    CHECKOUT,
    DISCOUNT,
    FULFILLMENT,
    ORDER,
    CheckoutStatus,
    Negotiation,
    Severity,
    parse_model,
    response_capabilities,
)
from contracts.ucp.checkout import (
    CheckoutCancelRequest,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from contracts.ucp.profile import relevant_capabilities
from reference_merchant import inputs, lifecycle, orders, payments
from reference_merchant.catalog import Catalog
from reference_merchant.clock import Clock
from reference_merchant.config import MerchantConfig
from reference_merchant.idempotency import IdempotencyLedger, StoredResponse, fingerprint
from reference_merchant.lifecycle import Action
from reference_merchant.pricing import Rendered, continue_url, render_checkout
from reference_merchant.responses import BusinessOutcome, Responder
from reference_merchant.security import RequestContext
from reference_merchant.state import (
    CheckoutState,
    OrderState,
)
from reference_merchant.store import CheckoutRow, Database, OrderRow, epoch
from reference_merchant.webhooks import WebhookDispatcher

log = structlog.get_logger(__name__)

Outcome = tuple[int, dict[str, Any]]
PURGE_EVERY = dt.timedelta(minutes=1)
OPEN_STATUSES = tuple(status.value for status in lifecycle.OPEN)


def _database_unavailable() -> UcpError:
    return UcpError("the merchant's database is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE, retry_after=1)


async def _order_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class MerchantService:
    def __init__(
        self,
        *,
        config: MerchantConfig,
        catalog: Catalog,
        clock: Clock,
        database: Database,
        ledger: IdempotencyLedger,
        responder: Responder,
        webhooks: WebhookDispatcher,
    ) -> None:
        self._config = config
        self._catalog = catalog
        self._clock = clock
        self._db = database
        self._ledger = ledger
        self._responder = responder
        self._webhooks = webhooks
        self._lock = asyncio.Lock()
        self._webhooks_queued = False
        self._last_purge: dt.datetime | None = None
        self.on_webhooks_queued: Callable[[], None] = lambda: None

    # ------------------------------------------------------------------
    # HTTP operations

    async def create_checkout(self, ctx: RequestContext) -> Response:
        return await self._mutate(ctx, lambda session, now: self._create(session, ctx, now))

    async def update_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._mutate(ctx, lambda session, now: self._update(session, ctx, checkout_id, now))

    async def complete_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._mutate(ctx, lambda session, now: self._complete(session, ctx, checkout_id, now))

    async def cancel_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._mutate(ctx, lambda session, now: self._cancel(session, ctx, checkout_id, now))

    async def get_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        async def read(session: AsyncSession, now: dt.datetime) -> Outcome:
            _, state = await self._load(session, checkout_id, now, ctx=ctx)
            return 200, self._checkout_document(state, ctx.negotiation)

        return await self._run(read)

    async def get_order(self, ctx: RequestContext, order_id: str) -> Response:
        async def read(session: AsyncSession, now: dt.datetime) -> Outcome:
            row = await session.get(OrderRow, order_id)
            if row is None or row.platform != ctx.platform_id:
                raise BusinessOutcome(
                    "Order not found.",
                    code=ErrorCode.NOT_FOUND,
                    capabilities=response_capabilities(ctx.negotiation, ORDER),
                )
            order = OrderState.model_validate(row.state)
            version = ctx.negotiation.version_of(ORDER) or self._config.protocol_version
            return 200, self._order_document(order, version)

        return await self._run(read)

    # ------------------------------------------------------------------
    # transaction plumbing

    async def _mutate(
        self, ctx: RequestContext, handler: Callable[[AsyncSession, dt.datetime], Awaitable[Outcome]]
    ) -> Response:
        """Idempotent execution: replay, 409, or run + record + commit in one transaction."""
        assert ctx.idempotency_key is not None
        request_fingerprint = fingerprint(ctx.method, ctx.path, ctx.body)
        async with self._lock:
            now = self._clock.now()
            try:
                async with self._db.session() as session:
                    stored = await self._ledger.lookup(
                        session, ctx.platform_id, ctx.idempotency_key, request_fingerprint, now
                    )
                    if stored is not None:
                        log.debug("idempotent.replay", operation=ctx.operation.value, status=stored.status)
                        return self._responder.raw(stored.status, stored.body)
                    try:
                        status, document = await handler(session, now)
                    except UcpError as exc:
                        if exc.http_status >= 500:
                            raise
                        await session.rollback()
                        status, document = self._responder.error_document(exc)
                    body = self._responder.encode(document)
                    await self._ledger.record(
                        session,
                        ctx.platform_id,
                        ctx.idempotency_key,
                        request_fingerprint,
                        StoredResponse(status, body),
                        now,
                    )
                    await session.commit()
            except SQLAlchemyError as exc:
                log.error("database.error", operation=ctx.operation.value, error=type(exc).__name__)
                raise _database_unavailable() from exc
        self._announce()
        return self._responder.raw(status, body)

    async def _run(self, handler: Callable[[AsyncSession, dt.datetime], Awaitable[Outcome]]) -> Response:
        """A read that may apply lazy transitions (expiry, settlement); commits them."""
        async with self._lock:
            now = self._clock.now()
            try:
                async with self._db.session() as session:
                    status, document = await handler(session, now)
                    await session.commit()
            except SQLAlchemyError as exc:
                raise _database_unavailable() from exc
        self._announce()
        return self._responder.json(status, document)

    def _announce(self) -> None:
        """After a commit: wake the webhook sender if the transaction queued any (low delivery latency)."""
        if self._webhooks_queued:
            self._webhooks_queued = False
            self.on_webhooks_queued()

    # ------------------------------------------------------------------
    # documents

    def _extensions(self, negotiation: Negotiation) -> frozenset[str]:
        names = {entry.name for entry in relevant_capabilities(negotiation, CHECKOUT)}
        return frozenset(names & {FULFILLMENT, DISCOUNT})

    def _render(self, state: CheckoutState, extensions: frozenset[str] | None = None) -> Rendered:
        active = extensions if extensions is not None else frozenset(state.extensions)
        return render_checkout(state, self._catalog, self._config, active)

    def _checkout_document(
        self, state: CheckoutState, negotiation: Negotiation, extra_messages: Sequence[dict[str, Any]] = ()
    ) -> dict[str, Any]:
        rendered = self._render(state, self._extensions(negotiation))
        body = rendered.body
        if extra_messages:
            body["messages"] = [*body.get("messages", []), *extra_messages]
        envelope = {
            "version": self._config.protocol_version,
            "status": "success",
            "capabilities": response_capabilities(negotiation, CHECKOUT),
            "payment_handlers": payments.payment_handlers(self._config.protocol_version),
        }
        return {"ucp": envelope, **body}

    def _order_document(self, order: OrderState, version: str) -> dict[str, Any]:
        envelope = {
            "version": self._config.protocol_version,
            "status": "success",
            "capabilities": {ORDER: [{"version": version}]},
        }
        return {"ucp": envelope, **order.document}

    # ------------------------------------------------------------------
    # loading and saving

    async def _load(
        self, session: AsyncSession, checkout_id: str, now: dt.datetime, *, ctx: RequestContext | None = None
    ) -> tuple[CheckoutRow, CheckoutState]:
        row = await session.get(CheckoutRow, checkout_id)
        if row is None or (ctx is not None and row.platform != ctx.platform_id):
            raise BusinessOutcome(
                "Checkout session not found.",
                code=ErrorCode.NOT_FOUND,
                capabilities=response_capabilities(ctx.negotiation, CHECKOUT) if ctx else None,
                continue_url=self._config.base_url,
            )
        state = CheckoutState.model_validate(row.state)
        await self._advance(session, row, state, now)
        return row, state

    async def _advance(self, session: AsyncSession, row: CheckoutRow, state: CheckoutState, now: dt.datetime) -> None:
        """Apply what time has made true (expiry, asynchronous completion) and commit it on its own.

        Committed separately because it does not depend on the request being
        served: if that request then fails (say, an update of a session that
        just completed), the transition must stand.
        """
        if lifecycle.expires(state.status) and now >= state.expires_at:
            state.status = CheckoutStatus.CANCELED
            state.cancel_reason = "expired"
            log.debug("checkout.expired", checkout_id=state.id)
        elif (
            state.status is CheckoutStatus.COMPLETE_IN_PROGRESS
            and state.completes_at is not None
            and now >= state.completes_at
        ):
            await self._place_order(session, state, now)
        else:
            return
        self._save(row, state, now)
        await session.commit()

    def _save(self, row: CheckoutRow, state: CheckoutState, now: dt.datetime) -> None:
        row.state = state.model_dump(mode="json")
        row.status = state.status.value
        row.expires_at = epoch(state.expires_at)
        row.completes_at = epoch(state.completes_at) if state.completes_at else None
        row.updated_at = epoch(now)

    # ------------------------------------------------------------------
    # create / update

    async def _create(self, session: AsyncSession, ctx: RequestContext, now: dt.datetime) -> Outcome:
        request = parse_model(CheckoutCreateRequest, parse_json(ctx.body), what="create_checkout request")
        state = CheckoutState(
            id=new_id("chk"),
            platform=ctx.platform_id,
            status=CheckoutStatus.INCOMPLETE,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=self._config.checkout_ttl_seconds),
            currency=self._config.currency,
        )
        inputs.apply(state, request, self._catalog, self._extensions(ctx.negotiation))
        if not state.lines:
            sold_out = all(notice.code == ErrorCode.OUT_OF_STOCK for notice in state.notices)
            raise BusinessOutcome(
                "None of the requested items can be purchased.",
                code=ErrorCode.OUT_OF_STOCK if sold_out else ErrorCode.ITEM_UNAVAILABLE,
                continue_url=self._config.base_url,
            )
        state.status = self._render(state).status
        row = CheckoutRow(id=state.id, platform=state.platform, created_at=epoch(now))
        self._save(row, state, now)
        session.add(row)
        log.debug("checkout.created", checkout_id=state.id, status=state.status.value)
        return 201, self._checkout_document(state, ctx.negotiation)

    async def _update(self, session: AsyncSession, ctx: RequestContext, checkout_id: str, now: dt.datetime) -> Outcome:
        row, state = await self._load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.UPDATE, state.status, continue_url=continue_url(self._config, state.id))
        request = parse_model(CheckoutUpdateRequest, parse_json(ctx.body), what="update_checkout request")
        if request.id is not None and request.id != checkout_id:
            raise inputs.invalid("the body names another checkout than the path", "/id")
        inputs.apply(state, request, self._catalog, self._extensions(ctx.negotiation))
        state.status = self._render(state).status
        self._save(row, state, now)
        log.debug("checkout.updated", checkout_id=state.id, status=state.status.value)
        return 200, self._checkout_document(state, ctx.negotiation)

    # ------------------------------------------------------------------
    # complete / cancel

    async def _complete(
        self, session: AsyncSession, ctx: RequestContext, checkout_id: str, now: dt.datetime
    ) -> Outcome:
        row, state = await self._load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.COMPLETE, state.status, continue_url=continue_url(self._config, state.id))
        request = parse_model(CheckoutCompleteRequest, parse_json(ctx.body), what="complete_checkout request")
        outcome = payments.charge(request.payment)
        if outcome.decision is payments.Decision.REFUSED:
            assert outcome.message is not None
            log.debug("checkout.payment_refused", checkout_id=state.id, code=outcome.message["code"])
            return 200, self._checkout_document(state, ctx.negotiation, [outcome.message])
        state.payment_instruments = inputs.public_payment(request.payment)
        state.webhook_url = self._webhook_url(ctx)
        state.order_capability_version = ctx.negotiation.version_of(ORDER)
        state.extensions = sorted(self._extensions(ctx.negotiation))
        if outcome.decision is payments.Decision.REQUIRES_3DS and "requires_3ds" not in state.cleared_escalations:
            state.pending_escalation = "requires_3ds"
            state.status = self._render(state).status
        elif outcome.decision is payments.Decision.ASYNC:
            state.status = CheckoutStatus.COMPLETE_IN_PROGRESS
            state.completes_at = now + dt.timedelta(seconds=self._config.async_completion_seconds)
        else:
            await self._place_order(session, state, now)
        self._save(row, state, now)
        log.debug("checkout.complete", checkout_id=state.id, status=state.status.value)
        return 200, self._checkout_document(state, ctx.negotiation)

    def _webhook_url(self, ctx: RequestContext) -> str | None:
        url = ctx.platform.webhook_url
        if url is None or ORDER not in ctx.negotiation:
            return None
        try:
            return validate_profile_url(
                url, business=False, allow_insecure_loopback=self._config.allow_insecure_loopback
            )
        except UcpError:
            log.warning("webhook.url_refused", platform=ctx.platform_id)
            return None

    async def _cancel(self, session: AsyncSession, ctx: RequestContext, checkout_id: str, now: dt.datetime) -> Outcome:
        row, state = await self._load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.CANCEL, state.status, continue_url=continue_url(self._config, state.id))
        if ctx.body:
            parse_model(CheckoutCancelRequest, parse_json(ctx.body), what="cancel_checkout request")
        state.status = CheckoutStatus.CANCELED
        state.cancel_reason = "buyer"
        self._save(row, state, now)
        log.debug("checkout.canceled", checkout_id=state.id)
        return 200, self._checkout_document(state, ctx.negotiation)

    # ------------------------------------------------------------------
    # orders

    async def _place_order(self, session: AsyncSession, state: CheckoutState, now: dt.datetime) -> None:
        rendered = self._render(state)
        count = await _order_count(session)
        order_id = new_id("ord")
        label = f"#{1001 + count}"
        document = orders.build_order(state, rendered, self._config, self._catalog, order_id=order_id, label=label)
        order = OrderState(
            id=order_id,
            checkout_id=state.id,
            platform=state.platform,
            webhook_url=state.webhook_url,
            order_capability_version=state.order_capability_version,
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
        self._notify(session, order, "order_created")
        log.debug("order.placed", order_id=order_id, checkout_id=state.id)

    def _notify(self, session: AsyncSession, order: OrderState, event_type: str) -> None:
        if order.webhook_url is None:
            return
        self._webhooks_queued = True
        version = order.order_capability_version or self._config.protocol_version
        self._webhooks.enqueue(
            session,
            order_id=order.id,
            url=order.webhook_url,
            event_type=event_type,
            snapshot=self._order_document(order, version),
        )

    async def progress_order(self, order_id: str, step: str) -> bool:
        """Apply ``shipped`` or ``delivered`` to an order and send its webhook; ``False`` if nothing changed."""
        async with self._lock:
            now = self._clock.now()
            async with self._db.session() as session:
                row = await session.get(OrderRow, order_id)
                if row is None:
                    raise KeyError(order_id)
                changed = await self._progress(session, row, step, now)
                await session.commit()
        self._announce()
        return changed

    async def _progress(self, session: AsyncSession, row: OrderRow, step: str, now: dt.datetime) -> bool:
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
            self._notify(session, order, f"order_{step}")
            log.debug("order.progressed", order_id=order.id, step=step)
        return changed

    # ------------------------------------------------------------------
    # operator / test API (no HTTP route)

    async def complete_buyer_handoff(self, checkout_id: str) -> CheckoutStatus:
        """The buyer finished what the escalation asked for on the merchant's site (continue_url)."""
        async with self._lock:
            now = self._clock.now()
            async with self._db.session() as session:
                row, state = await self._load(session, checkout_id, now)
                if state.status is CheckoutStatus.REQUIRES_ESCALATION:
                    for message in self._render(state).messages:
                        if message["type"] == "error" and Severity(message["severity"]).requires_escalation:
                            state.cleared_escalations.append(message["code"])
                    state.pending_escalation = None
                    state.status = self._render(state).status
                    self._save(row, state, now)
                await session.commit()
        self._announce()
        return state.status

    async def expire_checkout(self, checkout_id: str) -> CheckoutStatus:
        """Make ``expires_at`` now; an open session becomes ``canceled`` right away."""
        async with self._lock:
            now = self._clock.now()
            async with self._db.session() as session:
                row, state = await self._load(session, checkout_id, now)
                if lifecycle.expires(state.status):
                    state.expires_at = now
                    self._save(row, state, now)
                    await self._advance(session, row, state, now)
                await session.commit()
        return state.status

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
            return await _order_count(session)

    async def tick(self) -> None:
        """One pass of time-driven work: expiry, settlement, order progression, idempotency purge."""
        async with self._lock:
            now = self._clock.now()
            async with self._db.session() as session:
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
                    await self._advance(session, row, CheckoutState.model_validate(row.state), now)
                for step, column in (("shipped", OrderRow.ship_at), ("delivered", OrderRow.deliver_at)):
                    for order_row in list(await session.scalars(select(OrderRow).where(column <= epoch(now)))):
                        await self._progress(session, order_row, step, now)
                if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
                    await self._ledger.purge(session, now)
                    self._last_purge = now
                await session.commit()
        self._announce()
