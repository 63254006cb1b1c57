"""The reference merchant as one object: its ASGI app plus the Python API tests and the demo drive.

    merchant = ReferenceMerchant(MerchantConfig(base_url=..., platforms=[...]), clock=ManualClock())
    uvicorn.Server(uvicorn.Config(merchant.asgi, ...))      # serve it; lifespan starts/stops it
    merchant.faults.unavailable_count = 2                   # misbehave (reference_merchant.faults)
    await merchant.complete_buyer_handoff(checkout_id)      # the buyer finished on continue_url
    await merchant.ship_order(order_id)                     # order events -> signed webhooks

Nothing here is reachable over HTTP: the only routes are the profile and the
UCP operations (DESIGN.md: no admin routes).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from contracts import ErrorCode, KeyStore, SigningKey, UcpError
from contracts.ucp import CheckoutStatus
from reference_merchant.catalog import Catalog
from reference_merchant.clock import Clock, SystemClock
from reference_merchant.config import MerchantConfig
from reference_merchant.discovery import business_profile, parsed_capabilities
from reference_merchant.faults import FaultInjectionMiddleware, FaultPlan
from reference_merchant.idempotency import IdempotencyLedger
from reference_merchant.platforms import PlatformDirectory
from reference_merchant.responses import Responder
from reference_merchant.routes import install_routes, operation_classifier
from reference_merchant.security import RequestAuthenticator
from reference_merchant.service import MerchantService
from reference_merchant.state import CheckoutState, OrderState
from reference_merchant.store import Database
from reference_merchant.webhooks import Delivery, WebhookDispatcher

log = structlog.get_logger(__name__)


class ReferenceMerchant:
    """A UCP business: serve :attr:`asgi`; steer it with the methods below."""

    def __init__(
        self,
        config: MerchantConfig,
        *,
        clock: Clock | None = None,
        keys: KeyStore | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.keys: KeyStore = keys or KeyStore(SigningKey.generate())
        self.faults: FaultPlan = config.faults.model_copy(deep=True)
        self.catalog = Catalog(config.items, config.discounts, config.shipping_options)
        self.database = Database(config.database_url)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        capabilities = parsed_capabilities(config.protocol_version)
        self.platforms = PlatformDirectory(config, self.clock, self._http, capabilities)
        self.authenticator = RequestAuthenticator(config, self.platforms, capabilities)
        self.responder = Responder(lambda: self.keys, config.protocol_version)
        self.webhooks = WebhookDispatcher(
            self.database, config.webhooks, self.clock, lambda: self.keys, config.profile_url, self._http
        )
        self.service = MerchantService(
            config=config,
            catalog=self.catalog,
            clock=self.clock,
            database=self.database,
            ledger=IdempotencyLedger(
                dt.timedelta(seconds=config.idempotency_ttl_seconds),
                failing=lambda: self.faults.idempotency_unavailable,
            ),
            responder=self.responder,
            webhooks=self.webhooks,
        )
        self.service.on_webhooks_queued = self._wake_background
        self.app = FastAPI(title=config.name, openapi_url=None, docs_url=None, redoc_url=None, lifespan=self._lifespan)
        install_routes(self.app, self)
        self.asgi = FaultInjectionMiddleware(
            self.app,
            plan=lambda: self.faults,
            classify=operation_classifier(config.api_prefix),
            unavailable_response=self._unavailable_response,
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._background: asyncio.Task[None] | None = None
        self._started = False

    # ------------------------------------------------------------------
    # life cycle

    async def start(self) -> None:
        if self._started:
            return
        await self.database.create_schema()
        self._started = True
        self._stopping.clear()
        if self.config.run_background_tasks:
            self._background = asyncio.create_task(self._run_background(), name="reference-merchant-background")
        log.info("merchant.started", base_url=self.config.base_url, kid=self.keys.active.kid)

    async def stop(self) -> None:
        if not self._started:
            return
        self._stopping.set()
        self._wake.set()
        self.asgi.release_hangs()
        if self._background is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
        if self._owns_http:
            await self._http.aclose()
        await self.database.close()
        self._started = False
        log.info("merchant.stopped")

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def _wake_background(self) -> None:
        self._wake.set()

    async def _run_background(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("background.failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.background_interval_seconds)
            self._wake.clear()

    async def tick(self) -> None:
        """Do time-driven work now: expire sessions, settle async completions, progress orders, send webhooks."""
        await self.service.tick()
        await self.webhooks.deliver_due()

    # ------------------------------------------------------------------
    # public data

    def profile(self) -> dict[str, Any]:
        """The business profile served at ``/.well-known/ucp``."""
        return business_profile(self.config, self.keys)

    def _unavailable_response(self, retry_after: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = self.responder.error(
            UcpError(
                "the merchant is temporarily unavailable",
                code=ErrorCode.SERVICE_UNAVAILABLE,
                retry_after=retry_after,
                detail={"reason": "fault_injection"},
            )
        )
        return response.status_code, list(response.raw_headers), bytes(response.body)

    # ------------------------------------------------------------------
    # key rotation (signatures.md "Key Rotation")

    def rotate_signing_key(self) -> str:
        """Publish a new key and sign with it from now on; the old one stays published. Returns the new kid."""
        new_key = SigningKey.generate()
        self.keys = self.keys.rotate(new_key)
        log.debug("keys.rotated", kid=new_key.kid)
        return new_key.kid

    def retire_signing_key(self, kid: str) -> None:
        """Stop publishing ``kid`` (after the grace period, or at once after a compromise)."""
        self.keys = self.keys.retire(kid)
        log.debug("keys.retired", kid=kid)

    # ------------------------------------------------------------------
    # the buyer and the warehouse (what happens outside the API)

    async def complete_buyer_handoff(self, checkout_id: str) -> CheckoutStatus:
        """The buyer did what an escalation asked on ``continue_url``; the session re-evaluates."""
        return await self.service.complete_buyer_handoff(checkout_id)

    async def expire_checkout(self, checkout_id: str) -> CheckoutStatus:
        """Forced expiry: ``expires_at`` becomes now, an open session becomes ``canceled``."""
        return await self.service.expire_checkout(checkout_id)

    async def ship_order(self, order_id: str) -> bool:
        """Append a ``shipped`` event (items fulfilled) and queue the signed webhook."""
        return await self.service.progress_order(order_id, "shipped")

    async def deliver_order(self, order_id: str) -> bool:
        """Append a ``delivered`` event and queue the signed webhook."""
        return await self.service.progress_order(order_id, "delivered")

    async def deliver_webhooks(self) -> int:
        """Attempt every due webhook now; returns how many were acknowledged."""
        return await self.webhooks.deliver_due()

    # ------------------------------------------------------------------
    # inspection (tests, demo)

    async def webhook_deliveries(self, order_id: str | None = None) -> list[Delivery]:
        return await self.webhooks.deliveries(order_id)

    async def checkout_state(self, checkout_id: str) -> CheckoutState:
        return await self.service.checkout_state(checkout_id)

    async def order_for_checkout(self, checkout_id: str) -> OrderState | None:
        return await self.service.order_for_checkout(checkout_id)

    async def count_orders(self) -> int:
        return await self.service.count_orders()
