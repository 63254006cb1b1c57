"""The merchant's checkout operations, in any release: parse with the request's release, decide, render with it.

Every operation runs in one transaction (:mod:`reference_merchant.transactions`);
the request's release (``ctx.release``, :mod:`reference_merchant.releases`)
turns the body into the internal request model and the internal checkout into
its wire document, so pricing, lifecycle and orders are one implementation
for every release.

Lazy lifecycle: reading or changing a session first applies what time has
made true — an expired open session becomes ``canceled``, a due
``complete_in_progress`` becomes ``completed`` with its order — and the
background task does the same for sessions nobody reads
(:mod:`reference_merchant.backoffice`).

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

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from contracts import ErrorCode, KeyStore, UcpError, validate_profile_url
from contracts.ucp import CHECKOUT, DISCOUNT, FULFILLMENT, ORDER, CheckoutStatus, Negotiation
from contracts.ucp.ap2 import AP2_MANDATE
from contracts.ucp.profile import relevant_capabilities
from reference_merchant import ap2, inputs, lifecycle, loyalty, payments
from reference_merchant.catalog import Catalog
from reference_merchant.config import MerchantConfig
from reference_merchant.faults import FaultPlan
from reference_merchant.lifecycle import Action
from reference_merchant.order_desk import OrderDesk, new_id
from reference_merchant.pricing import Rendered, continue_url, render_checkout
from reference_merchant.responses import BusinessOutcome
from reference_merchant.security import RequestContext
from reference_merchant.state import CheckoutState, OrderState
from reference_merchant.store import CheckoutRow, OrderRow, epoch
from reference_merchant.transactions import Outcome, Transactions

log = structlog.get_logger(__name__)


class MerchantService:
    def __init__(
        self,
        *,
        config: MerchantConfig,
        catalog: Catalog,
        transactions: Transactions,
        orders: OrderDesk,
        faults: Callable[[], FaultPlan] | None = None,
        keys: Callable[[], KeyStore] | None = None,
    ) -> None:
        self._config = config
        self._faults = faults
        self._keys = keys
        self._catalog = catalog
        self._tx = transactions
        self.orders = orders

    # ------------------------------------------------------------------
    # HTTP operations

    async def create_checkout(self, ctx: RequestContext) -> Response:
        return await self._tx.mutate(ctx, lambda session, now: self._create(session, ctx, now))

    async def update_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._tx.mutate(ctx, lambda session, now: self._update(session, ctx, checkout_id, now))

    async def complete_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._tx.mutate(ctx, lambda session, now: self._complete(session, ctx, checkout_id, now))

    async def cancel_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        return await self._tx.mutate(ctx, lambda session, now: self._cancel(session, ctx, checkout_id, now))

    async def get_checkout(self, ctx: RequestContext, checkout_id: str) -> Response:
        async def read(session: AsyncSession, now: dt.datetime) -> Outcome:
            _, state = await self.load(session, checkout_id, now, ctx=ctx)
            return 200, self._checkout_document(state, ctx)

        return await self._tx.read(ctx, read)

    async def get_order(self, ctx: RequestContext, order_id: str) -> Response:
        async def read(session: AsyncSession, now: dt.datetime) -> Outcome:
            row = await session.get(OrderRow, order_id)
            if row is None or row.platform != ctx.platform_id:
                raise BusinessOutcome(
                    "Order not found.",
                    code=ErrorCode.NOT_FOUND,
                    capabilities=relevant_capabilities(ctx.negotiation, ORDER),
                )
            order = OrderState.model_validate(row.state)
            version = ctx.negotiation.version_of(ORDER) or ctx.release.version
            return 200, ctx.release.order_document(order.document, version)

        return await self._tx.read(ctx, read)

    # ------------------------------------------------------------------
    # documents

    @staticmethod
    def extensions(negotiation: Negotiation) -> frozenset[str]:
        names = {entry.name for entry in relevant_capabilities(negotiation, CHECKOUT)}
        return frozenset(names & {FULFILLMENT, DISCOUNT})

    def render(self, state: CheckoutState, extensions: frozenset[str] | None = None) -> Rendered:
        active = extensions if extensions is not None else frozenset(state.extensions)
        rendered = render_checkout(state, self._catalog, self._config, active)
        skew = self._faults().totals_skew if self._faults is not None else 0
        if skew:  # fault injection: a total that no longer equals the sum of the other entries (CMP-06)
            for entry in rendered.body.get("totals", []):
                if entry.get("type") == "total":
                    entry["amount"] += skew
        return rendered

    def _checkout_document(
        self, state: CheckoutState, ctx: RequestContext, extra_messages: Sequence[dict[str, Any]] = ()
    ) -> dict[str, Any]:
        body = self.render(state, self.extensions(ctx.negotiation)).body
        if extra_messages:
            body["messages"] = [*body.get("messages", []), *extra_messages]
        document = ctx.release.checkout_document(body, relevant_capabilities(ctx.negotiation, CHECKOUT), self._config)
        if loyalty.LOYALTY in ctx.negotiation:  # a vendor extension's member (reference_merchant.loyalty)
            document = loyalty.present(document, state.loyalty_member_id)
        if AP2_MANDATE in ctx.negotiation and self._keys is not None:  # every checkout response is signed
            forged = self._faults is not None and self._faults().forge_ap2_authorization
            document = ap2.authorize(document, self._keys().active, forged=forged)
        return document

    # ------------------------------------------------------------------
    # loading and saving

    async def load(
        self, session: AsyncSession, checkout_id: str, now: dt.datetime, *, ctx: RequestContext | None = None
    ) -> tuple[CheckoutRow, CheckoutState]:
        row = await session.get(CheckoutRow, checkout_id)
        if row is None or (ctx is not None and row.platform != ctx.platform_id):
            raise BusinessOutcome(
                "Checkout session not found.",
                code=ErrorCode.NOT_FOUND,
                capabilities=relevant_capabilities(ctx.negotiation, CHECKOUT) if ctx else None,
                continue_url=self._config.base_url,
            )
        state = CheckoutState.model_validate(row.state)
        await self.advance(session, row, state, now)
        return row, state

    async def advance(self, session: AsyncSession, row: CheckoutRow, state: CheckoutState, now: dt.datetime) -> None:
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
            await self.orders.place(session, state, self.render(state), now)
        else:
            return
        self.save(row, state, now)
        await session.commit()

    @staticmethod
    def save(row: CheckoutRow, state: CheckoutState, now: dt.datetime) -> None:
        row.state = state.model_dump(mode="json")
        row.status = state.status.value
        row.expires_at = epoch(state.expires_at)
        row.completes_at = epoch(state.completes_at) if state.completes_at else None
        row.updated_at = epoch(now)

    # ------------------------------------------------------------------
    # create / update

    async def _create(self, session: AsyncSession, ctx: RequestContext, now: dt.datetime) -> Outcome:
        document, member_id = self._take_loyalty(ctx, ctx.release.parse_body(ctx.body))
        request = ctx.release.create_request(document, self._config)
        state = CheckoutState(
            id=new_id("chk"),
            platform=ctx.platform_id,
            status=CheckoutStatus.INCOMPLETE,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=self._config.checkout_ttl_seconds),
            currency=self._config.currency,
            release=ctx.release.version,
            loyalty_member_id=member_id,
        )
        inputs.apply(state, request, self._catalog, self.extensions(ctx.negotiation))
        if not state.lines:
            sold_out = all(notice.code == ErrorCode.OUT_OF_STOCK for notice in state.notices)
            raise BusinessOutcome(
                "None of the requested items can be purchased.",
                code=ErrorCode.OUT_OF_STOCK if sold_out else ErrorCode.ITEM_UNAVAILABLE,
                continue_url=self._config.base_url,
            )
        state.status = self.render(state).status
        row = CheckoutRow(id=state.id, platform=state.platform, created_at=epoch(now))
        self.save(row, state, now)
        session.add(row)
        log.debug("checkout.created", checkout_id=state.id, status=state.status.value)
        return 201, self._checkout_document(state, ctx)

    async def _update(self, session: AsyncSession, ctx: RequestContext, checkout_id: str, now: dt.datetime) -> Outcome:
        row, state = await self.load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.UPDATE, state.status, continue_url=continue_url(self._config, state))
        document, member_id = self._take_loyalty(ctx, ctx.release.parse_body(ctx.body))
        request = ctx.release.update_request(document, self._config)
        state.loyalty_member_id = member_id or state.loyalty_member_id
        if request.id is not None and request.id != checkout_id:
            raise inputs.invalid("the body names another checkout than the path", "/id")
        inputs.apply(state, request, self._catalog, self.extensions(ctx.negotiation))
        state.status = self.render(state).status
        self.save(row, state, now)
        log.debug("checkout.updated", checkout_id=state.id, status=state.status.value)
        return 200, self._checkout_document(state, ctx)

    # ------------------------------------------------------------------
    # complete / cancel

    async def _complete(
        self, session: AsyncSession, ctx: RequestContext, checkout_id: str, now: dt.datetime
    ) -> Outcome:
        row, state = await self.load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.COMPLETE, state.status, continue_url=continue_url(self._config, state))
        document, mandate = ctx.release.parse_body(ctx.body), None
        document, member_id = self._take_loyalty(ctx, document)
        state.loyalty_member_id = member_id or state.loyalty_member_id
        if AP2_MANDATE in ctx.negotiation:  # the session is locked into AP2: no mandate, no complete
            document, mandate = ap2.take_mandate(document)
        request = ctx.release.complete_request(document)
        outcome = payments.charge(request.payment)
        if outcome.decision is payments.Decision.REFUSED:
            assert outcome.message is not None
            log.debug("checkout.payment_refused", checkout_id=state.id, code=outcome.message["code"])
            return 200, self._checkout_document(state, ctx, [outcome.message])
        state.payment_instruments = inputs.public_payment(request.payment)
        state.ap2_checkout_mandate = mandate
        state.webhook_url = self._webhook_url(ctx)
        state.order_capability_version = ctx.negotiation.version_of(ORDER)
        state.extensions = sorted(self.extensions(ctx.negotiation))
        state.release = ctx.release.version
        if outcome.decision is payments.Decision.REQUIRES_3DS and "requires_3ds" not in state.cleared_escalations:
            state.pending_escalation = "requires_3ds"
            state.status = self.render(state).status
        elif outcome.decision is payments.Decision.ASYNC:
            state.status = CheckoutStatus.COMPLETE_IN_PROGRESS
            state.completes_at = now + dt.timedelta(seconds=self._config.async_completion_seconds)
        else:
            await self.orders.place(session, state, self.render(state), now)
        self.save(row, state, now)
        log.debug("checkout.complete", checkout_id=state.id, status=state.status.value)
        return 200, self._checkout_document(state, ctx)

    @staticmethod
    def _take_loyalty(ctx: RequestContext, document: object) -> tuple[object, str | None]:
        """com.example.loyalty's member out of the body, where negotiated (else the strict models judge it)."""
        return loyalty.take(document) if loyalty.LOYALTY in ctx.negotiation else (document, None)

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
        row, state = await self.load(session, checkout_id, now, ctx=ctx)
        lifecycle.require_allowed(Action.CANCEL, state.status, continue_url=continue_url(self._config, state))
        if ctx.body:  # the spec's example sends {}; an empty body is as good
            ctx.release.cancel_request(ctx.release.parse_body(ctx.body))
        state.status = CheckoutStatus.CANCELED
        state.cancel_reason = "buyer"
        self.save(row, state, now)
        log.debug("checkout.canceled", checkout_id=state.id)
        return 200, self._checkout_document(state, ctx)
