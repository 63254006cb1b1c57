"""``call_merchant``: one signed UCP REST call to a merchant, verified and classified.

Per call (checkout-rest.md, signatures.md):

1. resolve the merchant's REST endpoint and keys from the discovery cache;
2. serialise the body once as canonical JSON — a retry of this activity sends
   byte-identical bytes with the same outbound ``Idempotency-Key`` (IDM-12),
   so the merchant's cache answers instead of placing a second order;
3. sign with the connector's active key (``@method @authority @path``,
   ``ucp-agent``, ``idempotency-key``, ``content-digest``, ``content-type``) and
   send with explicit timeouts, no redirects, a bounded body;
4. verify the response signature and digest with the merchant's profile keys
   (one profile re-fetch on an unknown ``kid``, SIG-09); unsigned *error*
   responses are accepted (SIG-30), unsigned successes are not;
5. classify: timeouts, connection errors, 5xx and 429 are **retryable**
   (``Retry-After`` honoured through ``next_retry_delay``); 3xx, 4xx, bad
   signatures and invalid bodies are **non-retryable** ``ApplicationError``\\ s
   whose ``type`` is the frozen error code the platform will see.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import encode_failure, profile_failure
from activities.types import ActivityName, CallMerchantInput, MerchantOperation, MerchantReply
from contracts import (
    ErrorCode,
    KeyStore,
    SignatureError,
    UcpError,
    canonical_json,
    content_digest,
    format_ucp_agent,
    parse_json,
    sign_request,
    verify_response,
)
from contracts.ucp import parse_checkout_response, parse_order_response
from core.outbound_http import ResponseTooLargeError, retry_after_seconds, send_bounded
from merchants.platform_profile import profile_url
from merchants.profiles import CachedProfile, ProfileCache

# Lines carry workflow_id/session_id/attempt from worker.log_context; never headers or bodies.
log = structlog.get_logger("ucp_connector.activities.merchant")


def _failure(
    code: ErrorCode, message: str, *, retryable: bool, retry_after: float | None = None, **detail: Any
) -> ApplicationError:
    return encode_failure(UcpError(message, code=code, detail=detail), retryable=retryable, retry_after=retry_after)


class MerchantActivities:
    def __init__(self, http: httpx.AsyncClient, profiles: ProfileCache, keys: KeyStore, public_base_url: str) -> None:
        self._http = http
        self._profiles = profiles
        self._keys = keys
        self._public_base_url = public_base_url

    @activity.defn(name=ActivityName.CALL_MERCHANT)
    async def call_merchant(self, request: CallMerchantInput) -> MerchantReply:
        try:
            profile = await self._profiles.get(request.merchant_id)
        except UcpError as error:
            raise profile_failure(error) from error
        operation = request.operation
        url = profile.endpoint + operation.path(request.resource_id)
        body = self._body_bytes(request)
        agent = format_ucp_agent(profile_url(self._public_base_url, request.merchant_id))
        request_id = str(uuid.uuid4())
        headers = [("UCP-Agent", agent), ("Request-Id", request_id), ("Accept", "application/json")]
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        if request.idempotency_key is not None:
            headers.append(("Idempotency-Key", request.idempotency_key))
        headers.extend(
            sign_request(method=operation.method, url=url, headers=headers, body=body, key=self._keys.active).items()
        )
        call = log.bind(
            operation=operation.value, merchant_id=request.merchant_id, url=url, merchant_request_id=request_id
        )
        started = time.perf_counter()
        try:
            response, raw = await send_bounded(self._http, operation.method, url, headers=headers, content=body)
        except (httpx.TransportError, ResponseTooLargeError) as exc:  # TimeoutException is a TransportError
            call.warning("merchant.call_failed", error=type(exc).__name__, duration_ms=_since(started))
            raise self._transport_failure(exc) from exc
        call.info("merchant.call", status=response.status_code, duration_ms=_since(started))
        return await self._classify(request, profile, response, raw)

    @staticmethod
    def _transport_failure(exc: Exception) -> ApplicationError:
        if isinstance(exc, httpx.TimeoutException):
            return _failure(ErrorCode.MERCHANT_TIMEOUT, f"merchant timed out ({type(exc).__name__})", retryable=True)
        if isinstance(exc, ResponseTooLargeError):
            return _failure(ErrorCode.MERCHANT_RESPONSE_INVALID, str(exc), retryable=False)
        return _failure(
            ErrorCode.MERCHANT_UNAVAILABLE, f"merchant connection failed ({type(exc).__name__})", retryable=True
        )

    @staticmethod
    def _body_bytes(request: CallMerchantInput) -> bytes | None:
        if request.body is not None:
            return canonical_json(request.body)
        # UCP's cancel example sends an empty JSON object; complete always has a body.
        return b"{}" if request.operation in (MerchantOperation.CANCEL, MerchantOperation.COMPLETE) else None

    async def _classify(
        self, request: CallMerchantInput, profile: CachedProfile, response: httpx.Response, raw: bytes
    ) -> MerchantReply:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _failure(
                ErrorCode.MERCHANT_UNAVAILABLE,
                f"merchant answered HTTP {status}",
                retryable=True,
                retry_after=retry_after_seconds(response),
                http_status=status,
            )
        if 300 <= status < 400:
            raise _failure(
                ErrorCode.MERCHANT_RESPONSE_INVALID,
                "merchant answered with a redirect",
                retryable=False,
                http_status=status,
            )
        signed_by = await self._verify(request, profile, response, raw)
        if status >= 400:
            merchant_error = _safe_json(raw)
            raise _failure(
                ErrorCode.MERCHANT_REQUEST_REJECTED,
                f"merchant rejected {request.operation.value} with HTTP {status}",
                retryable=False,
                http_status=status,
                merchant_code=str(merchant_error.get("code", ""))[:100] or None,
                merchant_content=str(merchant_error.get("content", ""))[:300] or None,
            )
        body = self._validated_body(request, response, raw)
        return MerchantReply(status_code=status, body=body, response_digest=content_digest(raw), signed_by=signed_by)

    async def _verify(
        self, request: CallMerchantInput, profile: CachedProfile, response: httpx.Response, raw: bytes
    ) -> str | None:
        signed = "signature" in response.headers or "signature-input" in response.headers
        if not signed:
            if response.status_code >= 400:
                return None  # SIG-30: error responses may be unsigned
            raise _failure(
                ErrorCode.MERCHANT_SIGNATURE_INVALID,
                "merchant response is not signed",
                retryable=False,
                reason="unsigned",
            )
        headers = list(response.headers.multi_items())
        try:
            return verify_response(status=response.status_code, headers=headers, body=raw, keys=profile.keys).key.kid
        except SignatureError as error:
            if error.code is ErrorCode.KEY_NOT_FOUND:
                refreshed = await self._profiles.refresh_for_unknown_kid(request.merchant_id)
                if refreshed is not None:
                    try:
                        return verify_response(
                            status=response.status_code, headers=headers, body=raw, keys=refreshed.keys
                        ).key.kid
                    except SignatureError as retry_error:
                        error = retry_error
            raise _failure(
                ErrorCode.MERCHANT_SIGNATURE_INVALID,
                f"merchant response signature rejected: {error.content}",
                retryable=False,
                reason=error.reason,
                signature_code=error.code.value,
            ) from error

    @staticmethod
    def _validated_body(request: CallMerchantInput, response: httpx.Response, raw: bytes) -> dict[str, Any]:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type != "application/json":
                raise UcpError(f"content type {content_type or 'missing'}", code=ErrorCode.MERCHANT_RESPONSE_INVALID)
            body = parse_json(raw)
            if request.operation is MerchantOperation.GET_ORDER:
                parse_order_response(body)
            else:
                parse_checkout_response(body)
        except UcpError as error:
            raise _failure(
                ErrorCode.MERCHANT_RESPONSE_INVALID,
                f"merchant response is not valid UCP: {error.content}",
                retryable=False,
            ) from error
        return dict(body)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _safe_json(raw: bytes) -> dict[str, Any]:
    try:
        value = parse_json(raw)
    except UcpError:
        return {}
    return dict(value) if isinstance(value, dict) else {}
