"""The reference merchant as one object: its ASGI app plus the Python API tests and the demo drive.

    merchant = ReferenceMerchant(MerchantConfig(base_url=..., platforms=[...]), clock=ManualClock())
    uvicorn.Server(uvicorn.Config(merchant.asgi, ...))      # serve it; lifespan starts/stops it
    merchant.faults.unavailable_count = 2                   # misbehave (reference_merchant.faults)
    await merchant.complete_buyer_handoff(checkout_id)      # the buyer finished on continue_url
    await merchant.ship_order(order_id)                     # order events -> signed webhooks

Nothing here is reachable over HTTP: the only routes are the profiles, the
UCP operations and the buyer's hand-off page (DESIGN.md: no admin routes).
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
from reference_merchant import releases
from reference_merchant.backoffice import Backoffice
from reference_merchant.catalog import Catalog
from reference_merchant.clock import Clock, SystemClock
from reference_merchant.config import MerchantConfig
from reference_merchant.discovery import business_profile, leaf_profile
from reference_merchant.faults import FaultInjectionMiddleware, FaultPlan
from reference_merchant.handoff import install_handoff_routes
from reference_merchant.idempotency import IdempotencyLedger
from reference_merchant.order_desk import OrderDesk
from reference_merchant.platforms import PlatformDirectory
from reference_merchant.releases.r2026_01_11 import Release20260111
from reference_merchant.releases.r2026_01_11_auth import LegacyAuthenticator
from reference_merchant.responses import Responder
from reference_merchant.routes import install_routes, operation_classifier
from reference_merchant.security import RequestAuthenticator
from reference_merchant.service import MerchantService
from reference_merchant.state import CheckoutState, OrderState
from reference_merchant.store import Database
from reference_merchant.transactions import Transactions
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
        self.served = releases.served(config)
        self.release = self.served[config.ucp_version]
        self.platforms = PlatformDirectory(config, self.clock, self._http, self.served)
        self.authenticator: RequestAuthenticator | LegacyAuthenticator
        if isinstance(self.release, Release20260111):
            self.authenticator = LegacyAuthenticator(config, self.platforms, self.release)
        else:
            self.authenticator = RequestAuthenticator(config, self.platforms, self.served)
        self.responder = Responder(lambda: self.keys)
        self.webhooks = WebhookDispatcher(
            self.database, config.webhooks, self.clock, lambda: self.keys, config.profile_url, self._http, self.served
        )
        ledger = IdempotencyLedger(
            dt.timedelta(seconds=config.idempotency_ttl_seconds),
            failing=lambda: self.faults.idempotency_unavailable,
        )
        self.transactions = Transactions(
            database=self.database, clock=self.clock, ledger=ledger, responder=self.responder
        )
        self.transactions.on_webhooks_queued = self._wake_background
        self.orders = OrderDesk(
            config=config,
            catalog=self.catalog,
            served=self.served,
            webhooks=self.webhooks,
            transactions=self.transactions,
        )
        self.service = MerchantService(
            config=config,
            catalog=self.catalog,
            transactions=self.transactions,
            orders=self.orders,
            faults=lambda: self.faults,
            keys=lambda: self.keys,
        )
        self.backoffice = Backoffice(
            service=self.service, transactions=self.transactions, database=self.database, ledger=ledger
        )
        self.app = FastAPI(title=config.name, openapi_url=None, docs_url=None, redoc_url=None, lifespan=self._lifespan)
        install_routes(self.app, self)
        install_handoff_routes(self.app, self)
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
        await self.backoffice.tick()
        await self.webhooks.deliver_due()

    # ------------------------------------------------------------------
    # public data

    def profile(self) -> dict[str, Any]:
        """The business profile served at ``/.well-known/ucp``."""
        return business_profile(self.config, self.keys, self.served)

    def leaf_profile(self, version: str) -> dict[str, Any]:
        """The version-specific profile of an older release in ``supported_versions`` (``KeyError`` otherwise)."""
        return leaf_profile(self.config, self.keys, self.served, version)

    def _unavailable_response(self, retry_after: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = self.responder.error(
            self.release,
            UcpError(
                "the merchant is temporarily unavailable",
                code=ErrorCode.SERVICE_UNAVAILABLE,
                retry_after=retry_after,
                detail={"reason": "fault_injection"},
            ),
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
        return await self.backoffice.resolve_escalations(checkout_id)

    async def expire_checkout(self, checkout_id: str) -> CheckoutStatus:
        """Forced expiry: ``expires_at`` becomes now, an open session becomes ``canceled``."""
        return await self.backoffice.expire_checkout(checkout_id)

    async def ship_order(self, order_id: str) -> bool:
        """Append a ``shipped`` event (items fulfilled) and queue the signed webhook."""
        return await self.orders.progress_order(order_id, "shipped")

    async def deliver_order(self, order_id: str) -> bool:
        """Append a ``delivered`` event and queue the signed webhook."""
        return await self.orders.progress_order(order_id, "delivered")

    async def deliver_webhooks(self) -> int:
        """Attempt every due webhook now; returns how many were acknowledged."""
        return await self.webhooks.deliver_due()

    # ------------------------------------------------------------------
    # inspection (tests, demo)

    async def webhook_deliveries(self, order_id: str | None = None) -> list[Delivery]:
        return await self.webhooks.deliveries(order_id)

    async def checkout_state(self, checkout_id: str) -> CheckoutState:
        return await self.backoffice.checkout_state(checkout_id)

    async def order_for_checkout(self, checkout_id: str) -> OrderState | None:
        return await self.backoffice.order_for_checkout(checkout_id)

    async def count_orders(self) -> int:
        return await self.backoffice.count_orders()
