"""Registered merchants' UCP profiles: fetched by the spec's rules, validated, cached, refreshed on rotation.

Fetching rules (overview.md "Profile Requirements: Fetching", OVR-37..40):
HTTPS only (plain http only for loopback when the merchant registry says
``allow_insecure_loopback``), no redirects, connect and response timeouts,
and a cache with a TTL floor of 60 s in a bounded LRU so that memory stays
constant however many merchants are configured. On a signature with an
unknown ``kid`` the cache may be refreshed — but at most once per TTL floor
per origin (SIG-09), so a hostile peer cannot make us hammer a profile.

Only merchants in the registry are ever fetched, at the URL the registry
names; no URL from a request is fetched (DESIGN.md invariant 1, no SSRF).
Both the worker (merchant calls, negotiation) and the API (verifying merchant
order webhooks) read public profiles through this one cache; neither
re-implements the rules.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx

from contracts import ErrorCode, JwkSet, UcpError, parse_json, validate_profile_url, verify_with_key_refresh
from contracts.ucp import Profile, parse_business_profile
from core.outbound_http import ResponseTooLargeError, send_bounded
from core.settings import MerchantSettings

TTL_FLOOR: Final = 60.0
DEFAULT_TTL: Final = 300.0
MAX_CACHED_PROFILES: Final = 256

Verified = TypeVar("Verified")


@dataclass(frozen=True)
class CachedProfile:
    merchant_id: str
    profile_url: str
    profile: Profile
    document: dict[str, Any]
    keys: JwkSet
    endpoint: str
    fetched_at: float


class ProfileCache:
    """Bounded, TTL'd cache of merchant profiles keyed by merchant id."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        merchants: Mapping[str, MerchantSettings],
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = MAX_CACHED_PROFILES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._merchants = dict(merchants)
        self._ttl = max(ttl, TTL_FLOOR)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CachedProfile] = OrderedDict()
        self._last_forced: dict[str, float] = {}
        self.fetches = 0  # observable for tests of the refresh budget

    def merchant(self, merchant_id: str) -> MerchantSettings:
        try:
            return self._merchants[merchant_id]
        except KeyError:
            raise UcpError(f"merchant {merchant_id!r} is not registered", code=ErrorCode.NOT_FOUND) from None

    async def get(self, merchant_id: str) -> CachedProfile:
        entry = self._entries.get(merchant_id)
        if entry is not None and self._clock() - entry.fetched_at < self._ttl:
            self._entries.move_to_end(merchant_id)
            return entry
        return await self._load(merchant_id)

    async def refresh_for_unknown_kid(self, merchant_id: str) -> CachedProfile | None:
        """Re-fetch once per TTL floor per merchant origin; ``None`` when the budget is spent."""
        origin = httpx.URL(self.merchant(merchant_id).profile_url).host
        now = self._clock()
        last = self._last_forced.get(origin)
        if last is not None and now - last < TTL_FLOOR:
            return None
        self._last_forced[origin] = now
        return await self._load(merchant_id)

    async def verify_signature(self, entry: CachedProfile, check: Callable[[JwkSet], Verified]) -> Verified:
        """``check`` with the merchant's keys; on an unknown ``kid`` once more after a budgeted refresh (SIG-09).

        The one place the connector verifies a merchant's signature (responses,
        order webhooks); the sequence is ``contracts.verify_with_key_refresh``.
        """
        return await verify_with_key_refresh(
            lambda profile: check(profile.keys),
            entry,
            refresh=lambda: self.refresh_for_unknown_kid(entry.merchant_id),
        )

    async def _load(self, merchant_id: str) -> CachedProfile:
        settings = self.merchant(merchant_id)
        entry = await self._fetch(merchant_id, settings)
        self._entries[merchant_id] = entry
        self._entries.move_to_end(merchant_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry

    async def _fetch(self, merchant_id: str, settings: MerchantSettings) -> CachedProfile:
        url = validate_profile_url(
            settings.profile_url, business=True, allow_insecure_loopback=settings.allow_insecure_loopback
        )
        self.fetches += 1
        try:
            response, raw = await send_bounded(
                self._http, "GET", url, headers=[("Accept", "application/json")], content=None
            )
        except (httpx.HTTPError, ResponseTooLargeError) as exc:
            raise UcpError(
                f"merchant profile unreachable: {type(exc).__name__}",
                code=ErrorCode.PROFILE_UNREACHABLE,
                detail={"merchant_id": merchant_id},
            ) from exc
        if response.status_code != 200:
            raise UcpError(
                f"merchant profile answered HTTP {response.status_code} (redirects are not followed)",
                code=ErrorCode.PROFILE_UNREACHABLE,
                detail={"merchant_id": merchant_id, "http_status": response.status_code},
            )
        try:
            document = parse_json(raw)
            profile = parse_business_profile(document)
            keys = profile.jwks()
            endpoint = _rest_endpoint(profile, allow_insecure_loopback=settings.allow_insecure_loopback)
        except UcpError as exc:
            raise UcpError(
                f"merchant profile is malformed: {exc.content}",
                code=ErrorCode.PROFILE_MALFORMED,
                detail={"merchant_id": merchant_id},
            ) from exc
        return CachedProfile(merchant_id, url, profile, document, keys, endpoint, self._clock())


def _rest_endpoint(profile: Profile, *, allow_insecure_loopback: bool) -> str:
    """The shopping REST base URL: absolute https (OVR-09), no trailing slash appended to (OVR-10)."""
    endpoint = profile.rest_endpoint()
    if endpoint is None:
        raise UcpError("profile declares no REST endpoint for dev.ucp.shopping", code=ErrorCode.PROFILE_MALFORMED)
    try:
        validate_profile_url(endpoint, business=False, allow_insecure_loopback=allow_insecure_loopback)
    except UcpError as error:
        raise UcpError(f"REST endpoint: {error.content}", code=ErrorCode.PROFILE_MALFORMED) from error
    return endpoint.rstrip("/")
