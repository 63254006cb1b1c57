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
The release is chosen here (issue 15): the highest one the merchant's
``version``/``supported_versions`` and the connector's adapters share; for
an older one the version-specific profile is fetched (same origin as the
registered one, its ``ucp.version`` must be the chosen release, it may map no
further versions) and read by that release's adapter. What the profile names
-- endpoint, versioned profiles -- must be same-origin and public
(:mod:`merchants.targets`), and its keys may belong to no other registered
merchant.
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
from contracts.ucp import Profile
from core.outbound_http import ResponseTooLargeError, send_bounded
from core.settings import ConfigurationError, MerchantSettings
from merchants.releases import ADAPTERS, RELEASES, ReleaseAdapter, adapter_for, select_release
from merchants.targets import check_address, check_same_origin

TTL_FLOOR: Final = 60.0
DEFAULT_TTL: Final = 300.0
MAX_CACHED_PROFILES: Final = 256

Verified = TypeVar("Verified")


@dataclass(frozen=True)
class CachedProfile:
    """A merchant's profile at the release the connector speaks with it (issue 15)."""

    merchant_id: str
    profile_url: str  # the document read: the registered URL, or the version-specific one it maps to
    release: str
    adapter: ReleaseAdapter
    profile: Profile  # canonical shape, the release's capability versions (what negotiation intersects)
    document: dict[str, Any]  # canonical shape and versions: the profile as platforms see it through us
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
        self._key_owners: dict[str, str] = {}  # RFC 7638 thumbprint -> the registered profile URL that published it
        self.fetches = 0  # observable for tests of the refresh budget
        for merchant_id, merchant in self._merchants.items():
            releases_for(merchant_id, merchant)  # a bad ucp_versions/response_signatures pair fails at start

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
        root = await self._get_document(merchant_id, url, settings)
        offered = _offered_versions(root)
        release = select_release(offered, releases_for(merchant_id, settings))
        document = root
        if release != _version(root):
            url = await self._versioned_url(merchant_id, offered[release], settings)
            document = await self._get_document(merchant_id, url, settings)
            if _version(document) != release or _offered_versions(document).keys() != {release}:
                raise UcpError(
                    f"the profile for UCP {release} declares {_version(document)} or maps other versions",
                    code=ErrorCode.PROFILE_MALFORMED,
                    detail={"merchant_id": merchant_id, "release": release, "reason": "versioned_profile_mismatch"},
                )
        adapter = adapter_for(release)
        try:
            parsed = adapter.parse_profile(document)
            endpoint = _rest_endpoint(parsed.profile, allow_insecure_loopback=settings.allow_insecure_loopback)
        except UcpError as exc:
            raise UcpError(
                f"merchant profile is malformed: {exc.content}",
                code=ErrorCode.PROFILE_MALFORMED,
                pointer=exc.pointer,
                detail={"merchant_id": merchant_id, "release": release},
            ) from exc
        check_same_origin(endpoint, settings, what="REST endpoint")
        await check_address(endpoint, settings, what="REST endpoint")
        self._claim_keys(merchant_id, settings, parsed.keys)
        return CachedProfile(
            merchant_id, url, release, adapter, parsed.profile, parsed.presented, parsed.keys, endpoint, self._clock()
        )

    async def _versioned_url(self, merchant_id: str, url: str, settings: MerchantSettings) -> str:
        try:
            checked = validate_profile_url(
                url, business=False, allow_insecure_loopback=settings.allow_insecure_loopback
            )
        except UcpError as exc:
            raise UcpError(
                f"supported_versions names a bad URL: {exc.content}",
                code=ErrorCode.PROFILE_MALFORMED,
                detail={"merchant_id": merchant_id},
            ) from exc
        check_same_origin(checked, settings, what="versioned profile")
        return checked

    async def _get_document(self, merchant_id: str, url: str, settings: MerchantSettings) -> dict[str, Any]:
        await check_address(url, settings, what="profile")
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
        except UcpError as exc:
            raise UcpError(
                f"merchant profile is malformed: {exc.content}",
                code=ErrorCode.PROFILE_MALFORMED,
                detail={"merchant_id": merchant_id},
            ) from exc
        if not isinstance(document, dict) or not isinstance(document.get("ucp"), dict):
            raise UcpError(
                "merchant profile has no ucp object",
                code=ErrorCode.PROFILE_MALFORMED,
                pointer="/ucp",
                detail={"merchant_id": merchant_id},
            )
        return document

    def _claim_keys(self, merchant_id: str, settings: MerchantSettings, keys: JwkSet) -> None:
        """One merchant's keys are not accepted for another (issue 12 item 5): a key belongs to one profile."""
        owner = settings.profile_url
        for key in keys.keys:
            if key.algorithm is None:
                continue
            thumbprint = key.thumbprint()
            claimed_by = self._key_owners.get(thumbprint)
            if claimed_by is not None and claimed_by != owner:
                raise UcpError(
                    f"merchant {merchant_id!r} publishes a key ({key.kid}) of another registered merchant",
                    code=ErrorCode.PROFILE_NOT_TRUSTED,
                    detail={"merchant_id": merchant_id, "reason": "keys_shared", "kid": key.kid},
                )
        released = [thumb for thumb, url in self._key_owners.items() if url == owner]
        for thumbprint in released:
            del self._key_owners[thumbprint]
        for key in keys.keys:
            if key.algorithm is not None:
                self._key_owners[key.thumbprint()] = owner


def releases_for(merchant_id: str, settings: MerchantSettings) -> list[str]:
    """The releases the connector may speak with this merchant: its adapters, narrowed by configuration."""
    wanted = list(RELEASES) if settings.ucp_versions is None else list(settings.ucp_versions)
    unknown = sorted(set(wanted) - set(RELEASES))
    if unknown:
        raise ConfigurationError(f"merchants.{merchant_id}.ucp_versions: no adapter for {', '.join(unknown)}")
    if settings.response_signatures == "when_present":
        wanted = [version for version in wanted if not ADAPTERS[version].response_signatures_mandatory]
        if not wanted:
            raise ConfigurationError(
                f"merchants.{merchant_id}.response_signatures: 'when_present' is refused for "
                f"{', '.join(settings.ucp_versions or RELEASES)}, which mandate signed responses"
            )
    return wanted


def _version(document: dict[str, Any]) -> str:
    version = document["ucp"].get("version")
    if not isinstance(version, str):
        raise UcpError("profile declares no ucp.version", code=ErrorCode.PROFILE_MALFORMED, pointer="/ucp/version")
    return version


def _offered_versions(document: dict[str, Any]) -> dict[str, str]:
    """The releases a profile offers: its own ``version`` and the keys of ``supported_versions`` (OVR-01)."""
    offered = {_version(document): ""}
    mapped = document["ucp"].get("supported_versions")
    if isinstance(mapped, dict):
        offered.update({version: url for version, url in mapped.items() if isinstance(url, str)})
    return offered


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
