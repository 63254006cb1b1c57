"""``verify_platform_request``: the one gate every non-public route passes (DESIGN.md invariant 1).

Order of checks, cheapest and least trusting first:

1. **body size** — enforced while the body streams in (``BodyLimitMiddleware``),
   before anything is parsed: ``413 payload_too_large``;
   **signature headers** — present, well-formed and naming a registered key,
   checked *before* the body is read (``screen_request_signature``), so an
   anonymous client cannot make the API wait on or buffer a body;
2. **Content-Digest** over the raw bytes, before the body is parsed
   (``digest_mismatch``, SIG-24);
3. **RFC 9421** with the keys of the *platform registry* only
   (``api.platform_registry``: ES256/ES384, key files watched) — the registry
   maps each ``kid`` to exactly one platform, so the verified key *is* the
   platform identity; keys are never fetched from a URL a request names
   (no SSRF). Unknown kid → ``401 key_not_found``, bad or missing signature →
   ``401 signature_invalid``/``signature_missing``;
4. **identity binding** — every request carries ``UCP-Agent`` with an
   acceptable profile URL (OVR-19; absent is ``400 invalid_profile_url``), and
   when the platform's profile URL is registered it must name exactly it
   (SIG-32). Before issue 12.7 an absent header skipped the binding.

The URL that was signed is rebuilt from the connector's configured
``public_base_url`` (scheme and authority) and the raw, still-encoded request
path and query, so ``@authority`` can only verify for the host the platform
really addressed — a request relayed to another host fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.platform_registry import PlatformRegistry
from contracts import (
    ErrorCode,
    UcpError,
    parse_ucp_agent,
    screen_request_signature,
    signed_target_uri,
    text_headers,
    verify_request,
)
from contracts.idempotency import is_session_id
from core.logging import bind
from core.settings import PlatformSettings

DEFAULT_MAX_BODY_BYTES: Final = 256 * 1024


@dataclass(frozen=True)
class VerifiedPlatform:
    """Who sent the request, proven by the signature: everything downstream is scoped by it."""

    platform_id: str
    settings: PlatformSettings
    body: bytes


async def verify_platform_request(
    request: Request, *, registry: PlatformRegistry, public_base_url: str
) -> VerifiedPlatform:
    """Verify the request and remember the platform on ``request.state`` (``api.dependencies.signed_platform``)."""
    headers = text_headers(request.scope["headers"])
    claimed = screen_request_signature(headers, registry)  # unsigned or unknown key: refused before the body
    if not registry.allowed(claimed):
        raise UcpError(
            f"UCP 2026-04-08 request signatures are ES256 or ES384; key {claimed.kid} is {claimed.kty}/{claimed.crv}",
            code=ErrorCode.ALGORITHM_UNSUPPORTED,
            detail={"reason": "key_type", "kid": claimed.kid},
        )
    body = await request.body()
    signed = verify_request(
        method=request.method,
        url=signed_target_uri(public_base_url, request.scope),
        headers=headers,
        body=body or None,
        keys=registry,
    )
    platform_id = registry.platform_of(signed.key.kid)
    settings = registry.settings(platform_id)
    agent = next((value for name, value in headers if name.lower() == "ucp-agent"), None)
    # OVR-19: every request names its platform profile; parse_ucp_agent refuses an absent header too.
    profile = parse_ucp_agent(agent, business=False, allow_insecure_loopback=settings.allow_insecure_loopback)
    if settings.profile_url is not None and profile != settings.profile_url:
        raise UcpError(
            "UCP-Agent names a profile that does not belong to the signing platform",
            code=ErrorCode.SIGNATURE_INVALID,
            detail={"reason": "identity_mismatch"},
        )
    verified = VerifiedPlatform(platform_id=platform_id, settings=settings, body=body)
    request.state.platform = verified
    session_id = request.path_params.get("session_id")
    bind(
        platform_id=verified.platform_id,
        merchant_id=request.path_params.get("merchant_id"),
        session_id=session_id if isinstance(session_id, str) and is_session_id(session_id) else None,
    )
    return verified


class BodyLimitMiddleware:
    """Refuse bodies over the limit while they stream in (declared or chunked), before any parsing."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await error_response(too_large(self.max_body_bytes))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise too_large(self.max_body_bytes)
            return message

        await self.app(scope, limited_receive, send)


def too_large(limit: int) -> UcpError:
    return UcpError(
        f"request body exceeds {limit} bytes", code=ErrorCode.PAYLOAD_TOO_LARGE, detail={"max_bytes": limit}
    )
