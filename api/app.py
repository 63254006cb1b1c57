"""The FastAPI application: public profiles, the signed checkout API, merchant webhooks.

``create_app`` is the one place that builds the API's services (``api.services.ApiServices``);
routes receive them through the typed dependencies of ``api.dependencies``,
middleware through its constructor.

Middleware, outermost first: tracing (when on, ``core.telemetry``),
the request log (``api.request_log``: bound request id, one access line per
request), response signing (every response, errors included), the authority
guard (``Host`` must be the public authority, before any routing:
``api.authority_guard``), then the body-size limit; inside, the routers — each signed
router carries ``signed_platform`` as a router-level dependency, so no route
can skip verification. ``tests/api`` asserts that the only routes without it
are the three public ones.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from api.authority_guard import AuthorityGuard
from api.dependencies import attach_services
from api.errors import install_error_handlers
from api.gateway import CheckoutGateway
from api.openapi import build_openapi
from api.request_log import RequestLogMiddleware
from api.routes import checkout, public, sessions, webhooks
from api.security import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from api.services import ApiServices
from api.signing import ResponseSigningMiddleware
from contracts import KeyStore
from core.settings import Settings
from core.telemetry import instrument_app
from merchants.profiles import ProfileCache
from storage.repository import Repository

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/.well-known/ucp", "/merchants/{merchant_id}/.well-known/ucp"})
WEBHOOK_PATHS = frozenset({"/webhooks/merchants/{merchant_id}"})


def routed_app() -> FastAPI:
    """The application's routers and nothing else: what ``contracts/openapi.json`` describes."""
    app = FastAPI(
        title="ucp-connector",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the document is published as contracts/openapi.json, not served
        redirect_slashes=False,  # no route ever answers a redirect (issue 12.2)
    )
    for router in (public.router, checkout.router, sessions.router, webhooks.router):
        app.include_router(router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def create_app(
    settings: Settings,
    *,
    gateway: CheckoutGateway | None,
    repository: Repository,
    keys: Callable[[], KeyStore],
    profiles: ProfileCache,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The API with its services (``gateway=None``: connected later, ``api.main``; until then 503)."""
    services = ApiServices.build(settings, gateway=gateway, repository=repository, keys=keys, profiles=profiles)
    app = routed_app()
    attach_services(app, services)
    install_error_handlers(app, services.rejections)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(AuthorityGuard, public_base_url=settings.public_base_url, rejections=services.rejections)
    app.add_middleware(ResponseSigningMiddleware, keys=services.keys)
    app.add_middleware(RequestLogMiddleware)
    # Here rather than in api.main.build_app: every API app (production, tests) gets the same wiring.
    return instrument_app(app)


__all__ = ["PUBLIC_PATHS", "WEBHOOK_PATHS", "create_app", "routed_app"]
