"""The platforms this merchant trusts, and their keys and capabilities (overview.md "Fetching").

Only platforms listed in the configuration are ever looked at (OVR-35): an
unknown ``UCP-Agent`` profile is ``403 profile_not_trusted`` without any
network access, so a request can never make the merchant fetch a URL of its
choosing. For a listed platform:

* an inline ``profile`` is used as is; an inline ``jwks`` supplies the keys
  (and, without a profile, the platform is assumed to speak this merchant's
  protocol version and capabilities, with the configured ``webhook_url``);
* otherwise the profile is fetched over HTTPS (loopback ``http`` only with
  ``allow_insecure_loopback``), without following redirects (OVR-38), with a
  timeout (OVR-39) and a size limit, and cached for
  ``max(60 s, min(max-age, profile_cache_seconds))`` (OVR-40);
* a signature with an unknown ``kid`` may force one re-fetch, at most once per
  60 s per profile (SIG-09), which is how a platform's key rotation is picked up.

Failures map to the spec's codes: ``profile_unreachable`` (424) for network
errors, non-2xx answers and redirects, ``profile_malformed`` (422) for
anything that is not a valid profile with usable keys (OVR-42).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, TypeGuard

import httpx

from contracts import ErrorCode, JwkSet, KeyFormatError, UcpError, parse_json, validate_profile_url
from contracts.ucp import Capability
from reference_merchant.clock import Clock
from reference_merchant.config import MerchantConfig, TrustedPlatform
from reference_merchant.releases import PlatformProfile, Release, declared_version, release

MIN_TTL: Final = dt.timedelta(seconds=60)
REFRESH_FLOOR: Final = dt.timedelta(seconds=60)
MAX_PROFILE_BYTES: Final = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class KnownPlatform:
    """A trusted platform as of its last profile read."""

    profile_url: str
    version: str
    capabilities: dict[str, list[Capability]]
    keys: JwkSet
    webhook_url: str | None
    profile: PlatformProfile | None
    fetched_at: dt.datetime | None
    expires_at: dt.datetime | None


class PlatformDirectory:
    def __init__(
        self,
        config: MerchantConfig,
        clock: Clock,
        http: httpx.AsyncClient,
        served: dict[str, Release],
    ) -> None:
        self._config = config
        self._clock = clock
        self._http = http
        self._served = served
        self._business_capabilities = served[config.ucp_version].business_capabilities()
        self._cache: dict[str, KnownPlatform] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetch_count = 0

    def trusted(self, profile_url: str) -> TrustedPlatform:
        platform = self._config.platform(profile_url)
        if platform is None:
            raise UcpError(
                "this platform is not registered with the merchant",
                code=ErrorCode.PROFILE_NOT_TRUSTED,
                detail={"reason": "not_registered"},
            )
        return platform

    def without_profile(self, profile_url: str) -> KnownPlatform:
        """A trusted platform whose profile could not be used: no keys, no capabilities, its configured webhook."""
        trusted = self.trusted(profile_url)
        return KnownPlatform(
            profile_url=profile_url,
            version="",
            capabilities={},
            keys=JwkSet.from_list([]),
            webhook_url=trusted.webhook_url,
            profile=None,
            fetched_at=None,
            expires_at=None,
        )

    async def lookup(self, profile_url: str) -> KnownPlatform:
        """The platform's current profile data; fetched or from cache."""
        trusted = self.trusted(profile_url)
        cached = self._cache.get(profile_url)
        if self._fresh(cached):
            return cached
        async with self._locks.setdefault(profile_url, asyncio.Lock()):
            cached = self._cache.get(profile_url)
            if self._fresh(cached):
                return cached
            known = await self._load(trusted)
            self._cache[profile_url] = known
            return known

    async def refresh_for_unknown_kid(self, profile_url: str) -> KnownPlatform | None:
        """Re-fetch once if the cached copy is older than 60 s; ``None`` when not allowed (SIG-09).

        The floor is checked again under the lock: requests that raced on the same
        new kid get the copy the first one fetched instead of fetching again.
        """
        cached = self._cache.get(profile_url)
        if cached is None or cached.fetched_at is None:
            return None
        if self._clock.now() - cached.fetched_at < REFRESH_FLOOR:
            return None
        async with self._locks.setdefault(profile_url, asyncio.Lock()):
            latest = self._cache.get(profile_url)
            if latest is not cached and latest is not None:
                return latest  # another request refreshed it while this one waited
            known = await self._load(self.trusted(profile_url))
            self._cache[profile_url] = known
            return known

    def _fresh(self, cached: KnownPlatform | None) -> TypeGuard[KnownPlatform]:
        return cached is not None and (cached.expires_at is None or self._clock.now() < cached.expires_at)

    async def _load(self, trusted: TrustedPlatform) -> KnownPlatform:
        inline_keys = self._inline_keys(trusted)
        if trusted.profile is not None:
            profile = self.parse(trusted.profile)
            return self._known(trusted, profile, inline_keys or profile.keys, fetched_at=None, ttl=None)
        if inline_keys is not None:
            return KnownPlatform(
                profile_url=trusted.profile_url,
                version=self._config.protocol_version,
                capabilities=self._business_capabilities,
                keys=inline_keys,
                webhook_url=trusted.webhook_url,
                profile=None,
                fetched_at=None,
                expires_at=None,
            )
        profile, ttl = await self._fetch(trusted.profile_url)
        return self._known(trusted, profile, profile.keys, fetched_at=self._clock.now(), ttl=ttl)

    def parse(self, document: object) -> PlatformProfile:
        """Read a platform profile in the shape of the release it declares (the merchant's own when unknown).

        A release the merchant implements but does not serve is read in its own shape, or failing that in
        the merchant's, so the request's signature still verifies and the answer is the precise
        ``version_unsupported`` rather than a shape error.
        """
        version = declared_version(document) or ""
        own = self._served[self._config.ucp_version]
        if version in self._served:
            return self._served[version].parse_platform_profile(document)
        try:
            return release(version).parse_platform_profile(document)
        except (KeyError, UcpError):
            return own.parse_platform_profile(document)

    def _known(
        self,
        trusted: TrustedPlatform,
        profile: PlatformProfile,
        keys: JwkSet,
        *,
        fetched_at: dt.datetime | None,
        ttl: dt.timedelta | None,
    ) -> KnownPlatform:
        return KnownPlatform(
            profile_url=trusted.profile_url,
            version=profile.version,
            capabilities=profile.capabilities,
            keys=keys,
            webhook_url=trusted.webhook_url or profile.webhook_url,
            profile=profile,
            fetched_at=fetched_at,
            expires_at=fetched_at + ttl if fetched_at is not None and ttl is not None else None,
        )

    @staticmethod
    def _inline_keys(trusted: TrustedPlatform) -> JwkSet | None:
        if trusted.jwks is None:
            return None
        try:
            return JwkSet.from_dict(trusted.jwks)
        except KeyFormatError as exc:  # a configuration mistake, reported like a bad profile
            raise UcpError(f"configured JWKS is unusable: {exc.content}", code=ErrorCode.PROFILE_MALFORMED) from exc

    async def _fetch(self, url: str) -> tuple[PlatformProfile, dt.timedelta]:
        validate_profile_url(url, business=False, allow_insecure_loopback=self._config.allow_insecure_loopback)
        self.fetch_count += 1
        try:
            async with self._http.stream(
                "GET",
                url,
                headers={"Accept": "application/json"},
                follow_redirects=False,
                timeout=self._config.profile_fetch_timeout_seconds,
            ) as response:
                if response.is_redirect:
                    raise _unreachable("the profile answered with a redirect", "redirect")
                if response.status_code != 200:
                    raise _unreachable(f"the profile answered HTTP {response.status_code}", "status")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_PROFILE_BYTES:
                        raise UcpError("the profile is too large", code=ErrorCode.PROFILE_MALFORMED)
                cache_control = response.headers.get("cache-control", "")
        except httpx.HTTPError as exc:
            raise _unreachable(f"the profile could not be fetched ({type(exc).__name__})", "network") from exc
        try:
            document = parse_json(bytes(body))
        except UcpError as exc:
            raise UcpError("the profile is not valid JSON", code=ErrorCode.PROFILE_MALFORMED) from exc
        return self.parse(document), self._ttl(cache_control)

    def _ttl(self, cache_control: str) -> dt.timedelta:
        cap = dt.timedelta(seconds=self._config.profile_cache_seconds)
        match = _MAX_AGE.search(cache_control)
        max_age = dt.timedelta(seconds=int(match.group(1))) if match else cap
        return max(MIN_TTL, min(max_age, cap))


def _unreachable(content: str, reason: str) -> UcpError:
    return UcpError(content, code=ErrorCode.PROFILE_UNREACHABLE, detail={"reason": reason})
