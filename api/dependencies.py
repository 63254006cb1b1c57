"""Typed FastAPI dependencies: the services a route may use, the verified platform, its request body.

The providers below are the only code that touches ``app.state`` (one
``ApiServices`` stored by ``attach_services``); a route names what it needs
with an ``Annotated`` alias (``gateway: GatewayDep``), so ``mypy`` checks every
call on it and a test replaces one provider with ``app.dependency_overrides``.
Providers are ``async def``: FastAPI would run a plain ``def`` in a thread.

``signed_platform`` is attached to every signed router (not to single routes),
so a new route cannot forget verification; it verifies, then applies the
platform's rate and concurrency limits for the lifetime of the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from api.extensions import NegotiatedExtensions
from api.gateway import CheckoutGateway
from api.limits import PlatformLimiter
from api.platform_registry import PlatformRegistry
from api.security import VerifiedPlatform, verify_platform_request
from api.services import ApiServices, SessionContexts
from api.temporal_errors import engine_unavailable
from contracts import (
    ErrorCode,
    KeyStore,
    UcpError,
    canonical_json,
    content_digest,
    parse_json,
    validate_idempotency_key,
)
from contracts.ucp import parse_model
from contracts.ucp.complete_checks import raw_card_credential_error
from contracts.ucp.extensions import ap2_shape_error, base_members, consent_shape_error, not_negotiated_error
from core.settings import Settings
from merchants.profiles import ProfileCache
from storage.repository import Repository
from workflows.types import OperationRequest

Model = TypeVar("Model", bound=BaseModel)


def attach_services(app: FastAPI, services: ApiServices) -> None:
    app.state.services = services


def services_of(app: FastAPI) -> ApiServices:
    services = app.state.services
    assert isinstance(services, ApiServices), "create_app attaches the services"
    return services


async def api_services(request: Request) -> ApiServices:
    return services_of(request.app)


ServicesDep = Annotated[ApiServices, Depends(api_services)]


async def app_settings(services: ServicesDep) -> Settings:
    return services.settings


async def checkout_gateway(services: ServicesDep) -> CheckoutGateway:
    """The gateway, once ``api.main``'s lifespan has connected it; before that the API fails closed (503)."""
    if services.gateway is None:
        raise engine_unavailable("not_connected")
    return services.gateway


async def readiness_gateway(services: ServicesDep) -> CheckoutGateway | None:
    """The gateway if connected, else ``None`` (``/readyz`` reports it down instead of failing closed)."""
    return services.gateway


async def audit_repository(services: ServicesDep) -> Repository:
    return services.repository


async def connector_keys(services: ServicesDep) -> KeyStore:
    """The connector's keys as of this request (the keyring reloads rotated key files)."""
    return services.keys()


async def profile_cache(services: ServicesDep) -> ProfileCache:
    return services.profiles


async def platform_registry(services: ServicesDep) -> PlatformRegistry:
    return services.platforms


async def platform_limiter(services: ServicesDep) -> PlatformLimiter:
    return services.limiter


async def session_contexts(services: ServicesDep) -> SessionContexts:
    return services.session_contexts


SettingsDep = Annotated[Settings, Depends(app_settings)]
GatewayDep = Annotated[CheckoutGateway, Depends(checkout_gateway)]
ReadinessGatewayDep = Annotated[CheckoutGateway | None, Depends(readiness_gateway)]
RepositoryDep = Annotated[Repository, Depends(audit_repository)]
KeysDep = Annotated[KeyStore, Depends(connector_keys)]
ProfilesDep = Annotated[ProfileCache, Depends(profile_cache)]
RegistryDep = Annotated[PlatformRegistry, Depends(platform_registry)]
LimiterDep = Annotated[PlatformLimiter, Depends(platform_limiter)]
SessionContextsDep = Annotated[SessionContexts, Depends(session_contexts)]


async def signed_platform(
    request: Request, settings: SettingsDep, registry: RegistryDep, limiter: LimiterDep
) -> AsyncIterator[VerifiedPlatform]:
    platform = await verify_platform_request(request, registry=registry, public_base_url=settings.public_base_url)
    async with limiter.admit(platform.platform_id, platform.settings.rate_limit):
        yield platform


Platform = Annotated[VerifiedPlatform, Depends(signed_platform)]


def json_body(
    request: Request,
    platform: VerifiedPlatform,
    model: type[Model],
    *,
    empty_ok: bool = False,
    negotiated: NegotiatedExtensions | None = None,
) -> dict[str, Any]:
    """The verified raw body, parsed strictly and validated against ``model`` (400 with a pointer).

    ``negotiated`` (api.extensions): the merchant's negotiated extensions, when the body has an
    extension member; a member of one it did not negotiate is refused, a negotiated one the base
    models do not describe (``ap2``, a declared vendor extension's members) is checked on its own
    and forwarded as sent.
    """
    if not platform.body and empty_ok:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UcpError("the body must be application/json", code=ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    document = parse_json(platform.body)
    if isinstance(document, dict) and negotiated is not None:
        refusal = (
            not_negotiated_error(document, negotiated.capabilities, negotiated.vendor)
            or ap2_shape_error(document)
            or consent_shape_error(document)
        )
        if refusal is not None:
            raise refusal
        parse_model(model, base_members(document, negotiated.vendor))
    else:
        parse_model(model, document)
    assert isinstance(document, dict)
    # A PAN or CVC never goes further than this (card_credential.json: MUST NOT be used for checkout).
    raw_card = raw_card_credential_error(document)
    if raw_card is not None:
        raise raw_card
    return document


def operation_request(request: Request, body: dict[str, Any] | None, merchant_id: str) -> OperationRequest:
    key = validate_idempotency_key(request.headers.get("idempotency-key"))
    digest = content_digest(canonical_json(body if body is not None else {}))
    return OperationRequest(idempotency_key=key, merchant_id=merchant_id, body_digest=digest, body=body)
