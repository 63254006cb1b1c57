"""The only unsigned routes: liveness and UCP profiles — public data by the spec's hosting rules.

Profiles must be cacheable by shared caches (``Cache-Control: public,
max-age >= 60``) and served without redirects (overview.md "Hosting",
OVR-31..33). ``/healthz`` says "alive" and nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.dependencies import KeysDep, ProfilesDep, SettingsDep
from contracts import ErrorCode, UcpError
from merchants.platform_profile import SUPPORTED_CAPABILITIES, platform_profile, platform_profile_for_merchant

router = APIRouter(tags=["public"])

PROFILE_CACHE_CONTROL = "public, max-age=300"


@router.get("/healthz", summary="Liveness probe (reveals nothing)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


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
        handlers = settings.payment_handlers_for(None)
        document = platform_profile(settings.public_base_url, keys, None, handlers, settings.ap2_mandates)
    else:
        handlers = settings.payment_handlers_for(merchant)
        document = await platform_profile_for_merchant(
            profiles, settings.public_base_url, keys, merchant, handlers, settings.ap2_mandates
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
