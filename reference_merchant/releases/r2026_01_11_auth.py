"""How a 2026-01-11 merchant admits a request: the headers its OpenAPI requires, as the samples check them.

Order of checks (each answered in the samples' shapes, see
:mod:`.r2026_01_11_http`):

1. body size (``413``), before anything else (invariant 8 holds in every mode);
2. ``UCP-Agent``, ``Request-Signature`` and ``Request-Id`` on every operation,
   ``Idempotency-Key`` on mutations (openapi.json parameters; the samples'
   ``common_headers``): all missing ones at once, ``422``;
3. a ``version`` parameter in ``UCP-Agent`` newer than 2026-01-11 is
   ``400 VERSION_UNSUPPORTED`` (the samples' ``validate_ucp_headers``);
4. the ``UCP-Agent`` profile must be a trusted platform (``403``) — the
   samples trust anyone; the reference merchant keeps its allow-list, so a
   request still cannot make it fetch a URL of the caller's choosing;
5. the platform profile is read for its order ``webhook_url``; a profile
   that cannot be fetched or is not a 2026-01-11 profile only means no order
   webhooks (the samples log it and go on).

``Request-Signature`` is required but not verified: the release defines no
request signature scheme and the samples accept any value. Capabilities are
not negotiated either (the samples serve every extension to everyone): the
merchant's four capabilities are active for every request.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Final

import structlog
from starlette.requests import Request

from contracts import ErrorCode, UcpError, parse_ucp_agent
from contracts.ucp import NegotiatedCapability, Negotiation
from reference_merchant.config import MerchantConfig
from reference_merchant.faults import Operation
from reference_merchant.platforms import PlatformDirectory
from reference_merchant.releases.r2026_01_11 import VERSION, Release20260111
from reference_merchant.releases.r2026_01_11_http import LegacyValidationError, missing_header
from reference_merchant.security import MUTATIONS, RequestContext, bind_request, read_body

log = structlog.get_logger(__name__)

_AGENT_VERSION: Final = re.compile(r"(?:^|[;,])\s*version=(?:\"([^\"]+)\"|([^;,]+))", re.IGNORECASE)
REQUIRED: Final = ("ucp-agent", "request-signature", "request-id")


class LegacyAuthenticator:
    def __init__(self, config: MerchantConfig, directory: PlatformDirectory, release: Release20260111) -> None:
        self._config = config
        self._directory = directory
        self._release = release
        capabilities = release.business_capabilities()
        self._negotiation = Negotiation(
            active={
                name: NegotiatedCapability(name=name, version=VERSION, business=entries[0], platform=entries[0])
                for name, entries in capabilities.items()
            }
        )

    async def authenticate(self, request: Request, operation: Operation) -> RequestContext:
        request.state.release = self._release
        bind_request(request, operation)
        body = await read_body(request, self._config.max_body_bytes)
        required = [*REQUIRED, "idempotency-key"] if operation in MUTATIONS else list(REQUIRED)
        missing = [name for name in required if not request.headers.get(name)]
        if missing:
            raise LegacyValidationError([missing_header(name) for name in missing])
        agent = request.headers["ucp-agent"]
        match = _AGENT_VERSION.search(agent)
        asked = (match.group(1) or match.group(2)).strip() if match else VERSION
        if asked > VERSION:
            raise UcpError(
                f"Version {asked} is not supported. This merchant implements version {VERSION}.",
                code=ErrorCode.VERSION_UNSUPPORTED,
            )
        profile_url = parse_ucp_agent(
            agent, business=False, allow_insecure_loopback=self._config.allow_insecure_loopback
        )
        self._directory.trusted(profile_url)
        try:
            platform = await self._directory.lookup(profile_url)
        except UcpError as exc:
            if exc.code is ErrorCode.PROFILE_NOT_TRUSTED:
                raise
            log.warning("platform_profile.unusable", reason=exc.code.value)
            platform = self._directory.without_profile(profile_url)
        if platform.version != VERSION:  # a profile of another release has no 2026-01-11 webhook_url
            platform = replace(platform, webhook_url=self._directory.trusted(profile_url).webhook_url)
        structlog.contextvars.bind_contextvars(platform=profile_url)
        return RequestContext(
            operation=operation,
            platform=platform,
            negotiation=self._negotiation,
            body=body,
            idempotency_key=request.headers.get("idempotency-key") if operation in MUTATIONS else None,
            method=request.method,
            path=request.url.path,
            release=self._release,
        )
