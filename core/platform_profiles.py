"""Where a platform wants its UCP order webhooks: the ``webhook_url`` its own profile declares.

A UCP platform publishes ``dev.ucp.shopping.order[].config.webhook_url`` in
its profile (overview.md "Platform Profile", order.md "Webhook URL
Configuration", OVR-18/ORD-17), so an unmodified platform receives order
webhooks there. The profile URL is the one *configured* for the platform
(``platforms.<id>.profile_url``), never one a request names (no SSRF), and it
is fetched like any profile (core.outbound_http: HTTPS, or loopback http when
the platform allows it; no redirects, OVR-38; bounded body), cached for
:data:`CACHE_SECONDS` (OVR-21, at least the 60 s the spec asks a profile to be
cacheable for). A platform without a profile, or whose profile cannot be read
or declares no URL, gets its configured ``webhook_url``: the notification is
never lost to a profile outage. A declared URL whose host is (or resolves to)
a loopback, link-local, private or special-use address is refused like a
merchant target (core.address_policy; loopback/private only with the
platform's ``allow_insecure_loopback``) and the configured URL is used.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import httpx
import structlog

from contracts import UcpError, parse_json
from contracts.ucp.order_snapshots import declared_order_webhook_url
from contracts.ucp_agent import validate_profile_url
from core.address_policy import inward_reason, resolved_addresses
from core.outbound_http import ResponseTooLargeError, send_bounded

log = structlog.get_logger(__name__)

CACHE_SECONDS: Final = 300.0


@dataclass(frozen=True)
class PlatformProfileRef:
    url: str
    allow_insecure_loopback: bool = False


class PlatformProfiles:
    """Reads (and caches) the order webhook URL each configured platform's profile declares."""

    def __init__(self, http: httpx.AsyncClient, platforms: Mapping[str, PlatformProfileRef]) -> None:
        self._http = http
        self._platforms = dict(platforms)
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def order_webhook_url(self, platform_id: str) -> str | None:
        """The declared URL (validated as HTTPS, or loopback http if allowed), or ``None``."""
        ref = self._platforms.get(platform_id)
        if ref is None:
            return None
        cached = self._cache.get(platform_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        url = await self._read(platform_id, ref)
        self._cache[platform_id] = (time.monotonic() + CACHE_SECONDS, url)
        return url

    async def _read(self, platform_id: str, ref: PlatformProfileRef) -> str | None:
        try:
            response, body = await send_bounded(self._http, "GET", ref.url, headers=[], content=None)
            if response.status_code != 200:
                log.warning("platform_profile.unreadable", platform_id=platform_id, http_status=response.status_code)
                return None
            document = parse_json(body)
            declared = declared_order_webhook_url(document) if isinstance(document, Mapping) else None
            if declared is None:
                return None
            url = validate_profile_url(declared, business=False, allow_insecure_loopback=ref.allow_insecure_loopback)
            for address in await resolved_addresses(urlsplit(url).hostname or ""):
                reason = inward_reason(address, allow_loopback=ref.allow_insecure_loopback)
                if reason is not None:  # threat model C3: a profile must not point the connector inward
                    log.warning("platform_profile.webhook_refused", platform_id=platform_id, reason=reason)
                    return None
            return url
        except (httpx.HTTPError, ResponseTooLargeError, UcpError) as exc:
            log.warning("platform_profile.unreadable", platform_id=platform_id, error=type(exc).__name__)
            return None
