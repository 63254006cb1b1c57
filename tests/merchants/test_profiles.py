"""Merchant profile fetching and caching by the spec's rules (OVR-36..40, OVR-09, SIG-09) and negotiation.

A small loopback server plays the merchant's ``/.well-known/ucp`` in every
shape a hostile or broken merchant could serve it.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from contracts import ErrorCode, KeyStore, SigningKey, UcpError
from core.outbound_http import new_http_client
from core.settings import MerchantSettings
from merchants.profiles import ProfileCache
from reference_merchant import MerchantConfig
from reference_merchant.discovery import business_profile
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.merchants.harness import Clock


@dataclass
class ProfileHost:
    url: str = ""
    mode: str = "ok"
    document: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    moved_hits: int = 0

    def app(self) -> Starlette:
        async def profile(request: Request) -> Response:
            self.hits += 1
            if self.mode == "redirect":
                # To a reachable copy of the valid profile: following the redirect would *succeed*.
                return RedirectResponse(f"{self.url}/moved/.well-known/ucp", status_code=302)
            if self.mode == "error":
                return JSONResponse({"code": "oops"}, status_code=500)
            if self.mode == "garbage":
                return Response(b"{not json", media_type="application/json")
            return JSONResponse(self.document, headers={"Cache-Control": "public, max-age=3600"})

        async def moved(request: Request) -> Response:
            self.moved_hits += 1
            return JSONResponse(self.document, headers={"Cache-Control": "public, max-age=3600"})

        return Starlette(routes=[Route("/.well-known/ucp", profile), Route("/moved/.well-known/ucp", moved)])


@pytest.fixture
async def host() -> AsyncIterator[ProfileHost]:
    sock = bind_loopback()
    site = ProfileHost(url=url_of(sock))
    config = MerchantConfig(base_url=site.url, allow_insecure_loopback=True)
    site.document = business_profile(config, KeyStore(SigningKey.generate()))
    async with serve(site.app(), sock):
        yield site


def _cache(host: ProfileHost, clock: Clock, **settings: Any) -> tuple[ProfileCache, httpx.AsyncClient]:
    http = new_http_client()
    merchants = {
        "m": MerchantSettings(
            profile_url=f"{host.url}/.well-known/ucp", **{"allow_insecure_loopback": True, **settings}
        )
    }
    return ProfileCache(http, merchants, clock=clock), http


async def test_profiles_are_cached_for_at_least_the_ttl_floor(host: ProfileHost) -> None:
    clock = Clock()
    cache, http = _cache(host, clock)
    try:
        first = await cache.get("m")
        clock.now += 59
        assert await cache.get("m") is first and host.hits == 1
        assert first.endpoint == f"{host.url}/ucp/v1"
        clock.now += 400
        await cache.get("m")
        assert host.hits == 2
    finally:
        await http.aclose()


async def test_unknown_kid_refresh_is_limited_to_once_per_minute(host: ProfileHost) -> None:
    """SIG-09: at most one forced refresh per TTL floor per origin."""
    clock = Clock()
    cache, http = _cache(host, clock)
    try:
        await cache.get("m")
        assert await cache.refresh_for_unknown_kid("m") is not None
        assert await cache.refresh_for_unknown_kid("m") is None
        clock.now += 61
        assert await cache.refresh_for_unknown_kid("m") is not None
        assert host.hits == 3
    finally:
        await http.aclose()


@pytest.mark.parametrize(
    ("mode", "code"),
    [("redirect", "profile_unreachable"), ("error", "profile_unreachable"), ("garbage", "profile_malformed")],
)
async def test_bad_profiles_are_typed_errors(host: ProfileHost, mode: str, code: str) -> None:
    """OVR-38, OVR-32: redirects are not followed (the target serves a valid profile, so following it would
    succeed); a non-2xx or non-JSON profile is refused."""
    host.mode = mode
    cache, http = _cache(host, Clock())
    try:
        with pytest.raises(UcpError) as caught:
            await cache.get("m")
        assert caught.value.code.value == code
        assert host.moved_hits == 0
    finally:
        await http.aclose()


async def test_profile_with_an_insecure_endpoint_is_malformed(host: ProfileHost) -> None:
    """OVR-09: a REST endpoint must be https (loopback http only when explicitly allowed)."""
    document = copy.deepcopy(host.document)
    document["ucp"]["services"]["dev.ucp.shopping"][0]["endpoint"] = "http://shop.example/ucp/v1"
    host.document = document
    cache, http = _cache(host, Clock())
    try:
        with pytest.raises(UcpError) as caught:
            await cache.get("m")
        assert caught.value.code is ErrorCode.PROFILE_MALFORMED
    finally:
        await http.aclose()


async def test_unregistered_merchants_are_never_fetched(host: ProfileHost) -> None:
    cache, http = _cache(host, Clock())
    try:
        with pytest.raises(UcpError) as caught:
            await cache.get("not-registered")
        assert caught.value.code is ErrorCode.NOT_FOUND and host.hits == 0
    finally:
        await http.aclose()
