"""Reading a merchant's answer: status first, then its signature, then its body (checkout-rest.md, signatures.md).

* 429 and 5xx are **retryable** (``Retry-After`` honoured, TRN-10); nothing
  else about them is trusted, so they are not verified or parsed;
* 3xx is refused (redirects are never followed, and a redirected signed
  request would be a relay);
* the signature is verified with the merchant's profile keys, with one profile
  re-fetch on an unknown ``kid`` (:meth:`ProfileCache.verify_signature`,
  SIG-09). Unsigned *error* responses are accepted (SIG-30), unsigned
  successes are not;
* a 4xx is the merchant's final word: ``merchant_request_rejected`` with its
  ``code``/``content`` (truncated) as detail;
* a success must be ``application/json`` and a valid UCP checkout (an order
  for ``get_order``).

Every refusal is a non-retryable :class:`~merchants.errors.MerchantCallError`
unless said otherwise above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from contracts import ErrorCode, SignatureError, UcpError, content_digest, parse_json, verify_response
from contracts.ucp import RestOperation, parse_checkout_response, parse_order_response
from core.outbound_http import retry_after_seconds
from merchants.errors import MerchantCallError
from merchants.profiles import CachedProfile, ProfileCache


@dataclass(frozen=True)
class MerchantResponse:
    """A verified, valid UCP answer."""

    status_code: int
    body: dict[str, Any]
    response_digest: str  # Content-Digest (sha-256) of the raw bytes, for the audit log
    signed_by: str | None  # kid of the key that signed it


async def read_response(
    profiles: ProfileCache, profile: CachedProfile, operation: RestOperation, response: httpx.Response, raw: bytes
) -> MerchantResponse:
    status = response.status_code
    if status == 429 or status >= 500:
        raise MerchantCallError(
            f"merchant answered HTTP {status}",
            code=ErrorCode.MERCHANT_UNAVAILABLE,
            retryable=True,
            retry_delay=retry_after_seconds(response),
            http_status=status,
        )
    if 300 <= status < 400:
        raise MerchantCallError(
            "merchant answered with a redirect",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            retryable=False,
            http_status=status,
        )
    signed_by = await _verify(profiles, profile, response, raw)
    if status >= 400:
        merchant_error = _safe_json(raw)
        raise MerchantCallError(
            f"merchant rejected {operation.value} with HTTP {status}",
            code=ErrorCode.MERCHANT_REQUEST_REJECTED,
            retryable=False,
            http_status=status,
            merchant_code=str(merchant_error.get("code", ""))[:100] or None,
            merchant_content=str(merchant_error.get("content", ""))[:300] or None,
        )
    return MerchantResponse(
        status_code=status,
        body=_validated_body(operation, response, raw),
        response_digest=content_digest(raw),
        signed_by=signed_by,
    )


async def _verify(profiles: ProfileCache, profile: CachedProfile, response: httpx.Response, raw: bytes) -> str | None:
    if "signature" not in response.headers and "signature-input" not in response.headers:
        if response.status_code >= 400:
            return None  # SIG-30: error responses may be unsigned
        raise MerchantCallError(
            "merchant response is not signed",
            code=ErrorCode.MERCHANT_SIGNATURE_INVALID,
            retryable=False,
            reason="unsigned",
        )
    headers = list(response.headers.multi_items())
    try:
        verified = await profiles.verify_signature(
            profile, lambda keys: verify_response(status=response.status_code, headers=headers, body=raw, keys=keys)
        )
    except SignatureError as error:
        raise MerchantCallError(
            f"merchant response signature rejected: {error.content}",
            code=ErrorCode.MERCHANT_SIGNATURE_INVALID,
            retryable=False,
            reason=error.reason,
            signature_code=error.code.value,
        ) from error
    return verified.key.kid


def _validated_body(operation: RestOperation, response: httpx.Response, raw: bytes) -> dict[str, Any]:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type != "application/json":
            raise UcpError(f"content type {content_type or 'missing'}", code=ErrorCode.MERCHANT_RESPONSE_INVALID)
        body = parse_json(raw)
        if operation.answers_with_order:
            parse_order_response(body)
        else:
            parse_checkout_response(body)
    except UcpError as error:
        raise MerchantCallError(
            f"merchant response is not valid UCP: {error.content}",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            retryable=False,
        ) from error
    return dict(body)


def _safe_json(raw: bytes) -> dict[str, Any]:
    try:
        value = parse_json(raw)
    except UcpError:
        return {}
    return dict(value) if isinstance(value, dict) else {}
