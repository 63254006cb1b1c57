"""The only unsigned routes: liveness, readiness and UCP profiles — public data by the spec's hosting rules.

Profiles must be cacheable by shared caches (``Cache-Control: public,
max-age >= 60``) and served without redirects (overview.md "Hosting",
OVR-31..33). ``/healthz`` says "alive" and nothing else (liveness: restart
me only if this fails). ``/readyz`` says whether the API can serve checkouts
now: the Temporal frontend and the audit database are each checked (bounded,
concurrently) and named ``ok`` or ``down`` — 200 when both are up, else
``503 service_unavailable`` with the same names in ``detail`` (issue 12.13:
``/healthz`` answered 200 while Temporal was down). It names components,
never addresses or errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from typing import Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.dependencies import KeysDep, ProfilesDep, ReadinessGatewayDep, RepositoryDep, SettingsDep
from api.gateway import CheckoutGateway
from api.temporal_errors import RETRY_AFTER_SECONDS
from contracts import ErrorCode, UcpError
from merchants.platform_profile import SUPPORTED_CAPABILITIES, platform_profile_for_merchant, profile_declared_to

router = APIRouter(tags=["public"])

PROFILE_CACHE_CONTROL = "public, max-age=300"


@router.get("/healthz", summary="Liveness probe (reveals nothing)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


READINESS_TIMEOUT: Final = dt.timedelta(seconds=2)


async def _check(probe: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(probe, READINESS_TIMEOUT.total_seconds())
    except Exception:  # any failure of the probe is "down"; readiness reveals no detail
        return "down"
    return "ok"


async def _temporal_ready(gateway: CheckoutGateway | None) -> None:
    if gateway is None:
        raise RuntimeError("not connected")
    await gateway.ping(READINESS_TIMEOUT)


@router.get("/readyz", summary="Readiness probe: Temporal and the audit database, each ok or down")
async def readyz(gateway: ReadinessGatewayDep, repository: RepositoryDep) -> JSONResponse:
    temporal, database = await asyncio.gather(_check(_temporal_ready(gateway)), _check(repository.ping()))
    checks = {"temporal": temporal, "database": database}
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    raise UcpError(
        "not ready: " + ", ".join(name for name, state in checks.items() if state != "ok") + " down",
        code=ErrorCode.SERVICE_UNAVAILABLE,
        retry_after=RETRY_AFTER_SECONDS,
        detail=dict(checks),
    )


@router.get("/.well-known/ucp", summary="The connector's UCP platform profile")
async def connector_profile(
    settings: SettingsDep,
    keys: KeysDep,
    profiles: ProfilesDep,
    merchant: str | None = Query(default=None, max_length=64, description="Per-merchant webhook URL variant."),
) -> JSONResponse:
    if merchant is not None and merchant not in settings.merchants:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND)
    if merchant is None:
        document = profile_declared_to(settings, keys, None)
    else:
        handlers = settings.payment_handlers_for(merchant)
        document = await platform_profile_for_merchant(
            profiles,
            settings.public_base_url,
            keys,
            merchant,
            handlers,
            settings.ap2_mandates,
            settings.merchants[merchant].vendor_capabilities(),
        )
    return JSONResponse(document, headers={"Cache-Control": PROFILE_CACHE_CONTROL})


@router.get(
    "/merchants/{merchant_id}/.well-known/ucp", summary="A merchant's profile as presented through the connector"
)
async def merchant_profile(
    merchant_id: str, settings: SettingsDep, keys: KeysDep, profiles: ProfilesDep
) -> JSONResponse:
    if merchant_id not in settings.merchants:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND)
    entry = await profiles.get(merchant_id)
    document = presented_merchant_profile(
        entry.document, settings.public_base_url, merchant_id, keys.jwks.signing_keys()
    )
    return JSONResponse(document, headers={"Cache-Control": PROFILE_CACHE_CONTROL})


def presented_merchant_profile(
    document: dict[str, Any], public_base_url: str, merchant_id: str, signing_keys: list[dict[str, Any]]
) -> dict[str, Any]:
    """The merchant's profile with the REST endpoint pointing at the connector and our keys.

    An unmodified UCP platform client discovers the merchant *through* the
    connector: it calls our ``/merchants/{id}`` base, we sign what it receives,
    and it only sees capabilities the connector can drive.
    """
    ucp = dict(document.get("ucp", {}))
    base = f"{public_base_url.rstrip('/')}/merchants/{merchant_id}"
    services = {}
    for name, bindings in dict(ucp.get("services", {})).items():
        rest = [{**binding, "endpoint": base} for binding in bindings if binding.get("transport") == "rest"]
        if rest:
            services[name] = rest
    capabilities = {
        name: entries for name, entries in dict(ucp.get("capabilities", {})).items() if name in SUPPORTED_CAPABILITIES
    }
    return {
        **document,
        "ucp": {**ucp, "services": services, "capabilities": capabilities},
        "signing_keys": signing_keys,
    }
