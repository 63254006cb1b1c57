"""Authenticate every UCP request before the merchant looks at it (DESIGN.md invariant 1; SIG-23..25).

Order of checks, each failing with the spec's code (from ``contracts.ErrorCode``):

1. body size (``413 payload_too_large``) — read with a hard cap, before anything else;
2. ``Signature``/``Signature-Input`` present (``401 signature_missing``);
3. ``UCP-Agent`` is an RFC 8941 dictionary with a quoted https ``profile``
   (``400 invalid_profile_url``; loopback http only with ``allow_insecure_loopback``);
4. the profile is a trusted platform (``403 profile_not_trusted``) whose
   profile/keys can be read (``424 profile_unreachable``, ``422 profile_malformed``);
5. the RFC 9421 signature verifies over the exact bytes received, against the
   URL the client targeted rebuilt from *our* configured origin and the raw
   path (``400 digest_mismatch``, ``401 signature_invalid``/``key_not_found``,
   ``400 algorithm_unsupported``); an unknown ``kid`` may trigger one profile
   re-fetch (SIG-09);
6. the platform's protocol version is one this merchant serves — its own or
   one of ``supported_versions`` (``422 version_unsupported``, OVR-45); the
   request is then served in that release (:mod:`reference_merchant.releases`);
7. the capability intersection contains the operation's root capability, else
   the business outcome ``capabilities_incompatible`` (200, OVR-46);
8. a body is ``application/json`` (``415 unsupported_media_type``);
9. mutations carry a well-formed ``Idempotency-Key`` (``400
   idempotency_key_missing``/``idempotency_key_invalid``); it is covered by
   the signature already (SIG-18).

Nothing about the request is trusted before step 5 succeeds; in particular the
platform identity used for ownership checks is the verified profile URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import structlog
from starlette.requests import Request

from contracts import (
    ErrorCode,
    SignatureError,
    UcpError,
    parse_ucp_agent,
    signed_target_uri,
    text_headers,
    validate_idempotency_key,
    verify_request,
    verify_with_key_refresh,
)
from contracts.ucp import CHECKOUT, ORDER, Negotiation, negotiate
from reference_merchant.config import MerchantConfig
from reference_merchant.faults import Operation
from reference_merchant.platforms import KnownPlatform, PlatformDirectory
from reference_merchant.releases import Authentication, Release

ROOT_CAPABILITY = {
    Operation.CREATE_CHECKOUT: CHECKOUT,
    Operation.GET_CHECKOUT: CHECKOUT,
    Operation.UPDATE_CHECKOUT: CHECKOUT,
    Operation.COMPLETE_CHECKOUT: CHECKOUT,
    Operation.CANCEL_CHECKOUT: CHECKOUT,
    Operation.GET_ORDER: ORDER,
}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MUTATIONS = frozenset(
    {
        Operation.CREATE_CHECKOUT,
        Operation.UPDATE_CHECKOUT,
        Operation.COMPLETE_CHECKOUT,
        Operation.CANCEL_CHECKOUT,
    }
)


@dataclass(frozen=True)
class RequestContext:
    """A verified request: who sent it, what was negotiated, and the exact body bytes."""

    operation: Operation
    platform: KnownPlatform
    negotiation: Negotiation
    body: bytes
    idempotency_key: str | None
    method: str
    path: str
    release: Release

    @property
    def platform_id(self) -> str:
        return self.platform.profile_url


class RequestAuthenticator:
    def __init__(
        self,
        config: MerchantConfig,
        directory: PlatformDirectory,
        served: dict[str, Release],
    ) -> None:
        self._config = config
        self._directory = directory
        self._served = served

    async def authenticate(self, request: Request, operation: Operation) -> RequestContext:
        bind_request(request, operation)
        body = await read_body(request, self._config.max_body_bytes)
        headers = text_headers(request.headers.raw)
        if "signature" not in request.headers or "signature-input" not in request.headers:
            raise SignatureError(
                "the request is not signed",
                code=ErrorCode.SIGNATURE_MISSING,
                detail={"reason": "header_missing"},
            )
        profile_url = parse_ucp_agent(
            request.headers.get("ucp-agent"),
            business=False,
            allow_insecure_loopback=self._config.allow_insecure_loopback,
        )
        platform = await self._directory.lookup(profile_url)
        url = signed_target_uri(self._config.base_url, request.scope)

        def verified_with(candidate: KnownPlatform) -> KnownPlatform:
            verify_request(method=request.method, url=url, headers=headers, body=body, keys=candidate.keys)
            return candidate

        # The platform whose keys verified: the refreshed copy after a rotation (its version and capabilities too).
        platform = await verify_with_key_refresh(
            verified_with, platform, refresh=lambda: self._directory.refresh_for_unknown_kid(profile_url)
        )

        release = self._served.get(platform.version)
        if release is None or release.authentication is not Authentication.RFC9421:
            raise UcpError(
                f"protocol version {platform.version} is not supported; this business implements "
                f"{', '.join(self._served)}",
                code=ErrorCode.VERSION_UNSUPPORTED,
                continue_url=self._config.base_url,
            )
        request.state.release = release
        negotiation = negotiate(release.business_capabilities(), platform.capabilities)
        root = ROOT_CAPABILITY[operation]
        if root not in negotiation:
            raise UcpError(
                f"no mutually supported version of {root}",
                code=ErrorCode.CAPABILITIES_INCOMPATIBLE,
                continue_url=self._config.base_url,
            )
        if body:
            media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json":
                raise UcpError("the body must be application/json", code=ErrorCode.UNSUPPORTED_MEDIA_TYPE)
        key = validate_idempotency_key(request.headers.get("idempotency-key")) if operation in MUTATIONS else None
        structlog.contextvars.bind_contextvars(platform=platform.profile_url)
        return RequestContext(
            operation=operation,
            platform=platform,
            negotiation=negotiation,
            body=body,
            idempotency_key=key,
            method=request.method,
            path=request.url.path,
            release=release,
        )


def bind_request(request: Request, operation: Operation) -> None:
    """The merchant's own log fields for this request: operation, resource ids, and the caller's Request-Id.

    The connector sends a fresh ``Request-Id`` per call and logs it as ``merchant_request_id``, so one grep
    joins the two sides. Requests run one per task under uvicorn, so the binding ends with the request.
    """
    fields: dict[str, str] = {"operation": operation.value}
    request_id = request.headers.get("request-id", "")
    if _REQUEST_ID.fullmatch(request_id):
        fields["request_id"] = request_id
    for name in ("checkout_id", "order_id"):
        value = request.path_params.get(name)
        if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
            fields[name] = value
    structlog.contextvars.bind_contextvars(**fields)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes before reading them all (invariant 8)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> UcpError:
    return UcpError(f"the body exceeds {limit} bytes", code=ErrorCode.PAYLOAD_TOO_LARGE, detail={"limit": limit})
