"""The FastAPI application: public profiles, the signed checkout API, merchant webhooks.

Middleware, outermost first: tracing (when on, ``core.telemetry``),
the request log (``api.request_log``: bound request id, one access line per
request), response signing (every response, errors included), then the
body-size limit; inside, the routers — each signed
router carries ``signed_platform`` as a router-level dependency, so no route
can skip verification. ``tests/api`` asserts that the only routes without it
are the three public ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from fastapi import FastAPI

from api.audit import RejectionAudit
from api.errors import install_error_handlers
from api.gateway import CheckoutGateway, SessionContext
from api.limits import PlatformLimiter
from api.openapi import build_openapi
from api.request_log import RequestLogMiddleware
from api.routes import checkout, public, sessions, webhooks
from api.security import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware, PlatformRegistry, VerifiedPlatform
from api.signing import ResponseSigningMiddleware
from contracts import KeyStore
from core.settings import Settings
from core.telemetry import instrument_app
from merchants.profiles import ProfileCache
from storage.repository import Repository
from workflows.types import PolicySnapshot

PUBLIC_PATHS = frozenset({"/healthz", "/.well-known/ucp", "/merchants/{merchant_id}/.well-known/ucp"})
WEBHOOK_PATHS = frozenset({"/webhooks/merchants/{merchant_id}"})


def create_app(
    settings: Settings,
    *,
    gateway: CheckoutGateway | None,
    repository: Repository,
    keys: Callable[[], KeyStore],
    profiles: ProfileCache,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    app = FastAPI(
        title="ucp-connector",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the document is published as contracts/openapi.json, not served
    )
    app.state.settings = settings
    app.state.gateway = gateway
    app.state.repository = repository
    app.state.keys = keys
    app.state.profiles = profiles
    app.state.platforms = PlatformRegistry(settings.platforms)
    app.state.limiter = PlatformLimiter()
    app.state.rejections = RejectionAudit(repository) if repository is not None else None
    app.state.session_context = functools.partial(_session_context, settings)
    install_error_handlers(app)
    for router in (public.router, checkout.router, sessions.router, webhooks.router):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(ResponseSigningMiddleware, keys=keys)
    app.add_middleware(RequestLogMiddleware)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    # Here rather than in api.main.build_app: every API app (production, tests) gets the same wiring.
    return instrument_app(app)


def _session_context(
    settings: Settings, platform: VerifiedPlatform, merchant_id: str, policy: PolicySnapshot
) -> SessionContext:
    return SessionContext(
        platform_id=platform.platform_id,
        merchant_id=merchant_id,
        policy=policy,
        webhook_url=platform.settings.webhook_url,
        webhook_allow_insecure_loopback=platform.settings.allow_insecure_loopback,
        merchant_call_timeout_seconds=settings.merchant_call_timeout_seconds,
    )


__all__ = ["PUBLIC_PATHS", "WEBHOOK_PATHS", "create_app"]
