"""``MerchantClient``: one signed UCP REST call to a merchant, verified and classified (checkout-rest.md).

Per call:

1. resolve the merchant's REST endpoint and keys from the profile cache;
2. serialise the body once as canonical JSON — a retry sends byte-identical
   bytes with the same outbound ``Idempotency-Key`` (IDM-12), so the
   merchant's idempotency cache answers instead of placing a second order;
3. sign through :class:`contracts.httpx_auth.RequestSigner` (every call goes
   through it: there is no unsigned path) and send with explicit timeouts, no
   redirects and a bounded body (``core.outbound_http``);
4. read the answer (:mod:`merchants.responses`): status, signature (one profile
   re-fetch on an unknown ``kid``), body.

A call that yields no verified answer raises
:class:`~merchants.errors.MerchantCallError`; a merchant profile that cannot be
read raises the cache's :class:`~contracts.UcpError` (``profile_*`` codes).

Where issue 15 plugs in: per-release request/response adapters sit between the
operation and the bytes (``_body_bytes`` / ``read_response``), and merchant
authentication (API key, OAuth2) is one more ``httpx.Auth`` next to the signer,
mTLS a per-merchant ``httpx.AsyncClient``; the call sequence stays this one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from contracts import ErrorCode, KeyStore, canonical_json, format_ucp_agent
from contracts.httpx_auth import RequestSigner
from contracts.ucp import RestOperation
from core.outbound_http import ResponseTooLargeError, send_bounded
from merchants.errors import MerchantCallError
from merchants.platform_profile import profile_url
from merchants.profiles import ProfileCache
from merchants.responses import MerchantResponse, read_response

# Lines carry workflow_id/session_id/attempt from the caller's log context; never headers or bodies.
log = structlog.get_logger("ucp_connector.merchants.client")


class MerchantClient:
    """Calls registered merchants as the connector (its profile in ``UCP-Agent``, its key on every request)."""

    def __init__(self, http: httpx.AsyncClient, profiles: ProfileCache, keys: KeyStore, public_base_url: str) -> None:
        self._http = http
        self._profiles = profiles
        self._signer = RequestSigner(keys)
        self._public_base_url = public_base_url

    async def call(
        self,
        merchant_id: str,
        operation: RestOperation,
        *,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> MerchantResponse:
        profile = await self._profiles.get(merchant_id)
        url = profile.endpoint + operation.path(resource_id)
        content = _body_bytes(operation, body)
        request_id = str(uuid.uuid4())
        headers = [
            ("UCP-Agent", format_ucp_agent(profile_url(self._public_base_url, merchant_id))),
            ("Request-Id", request_id),
            ("Accept", "application/json"),
        ]
        if content is not None:
            headers.append(("Content-Type", "application/json"))
        if idempotency_key is not None:
            headers.append(("Idempotency-Key", idempotency_key))
        call = log.bind(operation=operation.value, merchant_id=merchant_id, url=url, merchant_request_id=request_id)
        started = time.perf_counter()
        try:
            response, raw = await send_bounded(
                self._http, operation.method, url, headers=headers, content=content, auth=self._signer
            )
        except (httpx.TransportError, ResponseTooLargeError) as exc:  # TimeoutException is a TransportError
            call.warning("merchant.call_failed", error=type(exc).__name__, duration_ms=_since(started))
            raise _transport_failure(exc) from exc
        call.info("merchant.call", status=response.status_code, duration_ms=_since(started))
        return await read_response(self._profiles, profile, operation, response, raw)


def _body_bytes(operation: RestOperation, body: Mapping[str, Any] | None) -> bytes | None:
    if body is not None:
        return canonical_json(body)
    # UCP's cancel example sends an empty JSON object; complete always has a body.
    return b"{}" if operation in (RestOperation.CANCEL, RestOperation.COMPLETE) else None


def _transport_failure(exc: Exception) -> MerchantCallError:
    if isinstance(exc, httpx.TimeoutException):
        return MerchantCallError(
            f"merchant timed out ({type(exc).__name__})", code=ErrorCode.MERCHANT_TIMEOUT, retryable=True
        )
    if isinstance(exc, ResponseTooLargeError):
        return MerchantCallError(str(exc), code=ErrorCode.MERCHANT_RESPONSE_INVALID, retryable=False)
    return MerchantCallError(
        f"merchant connection failed ({type(exc).__name__})", code=ErrorCode.MERCHANT_UNAVAILABLE, retryable=True
    )


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
