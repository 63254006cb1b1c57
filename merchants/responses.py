"""Reading a merchant's answer: status first, then its signature, then its body (checkout-rest.md, signatures.md).

Through the merchant's release adapter (:mod:`merchants.releases`):

* 429 and 5xx are **retryable** (``Retry-After`` honoured, TRN-10); nothing
  else about them is trusted, so they are not verified or parsed;
* 3xx is refused (redirects are never followed, and a redirected signed
  request would be a relay);
* the signature -- the release's (RFC 9421, or 2026-01-11's detached JWS) --
  is verified with the merchant's profile keys, with one profile re-fetch on
  an unknown ``kid`` (:meth:`ProfileCache.verify_signature`, SIG-09). A
  present signature must verify, always. An *absent* one: error responses may
  be unsigned (SIG-30); an unsigned success is refused unless the merchant's
  policy is ``response_signatures = "when_present"`` (signatures.md "When
  Signatures Apply": RECOMMENDED), and then it is accepted and reported
  (``MerchantResponse.unsigned_accepted``, audited as ``unsigned_response_accepted``);
* a 4xx is the merchant's final word, and keeps its reason: from a UCP error
  its ``messages[]`` (code, content, severity, path), from a protocol error its
  ``code``/``content``, and from any other body (e.g. FastAPI's
  ``{"detail": [...]}``) the body itself, at most 4 KiB, always redacted. A 400/422 is the *platform's*
  input refused (``422 merchant_input_rejected``), a 413 too
  (``413 payload_too_large``), a 409 a key conflict of ours
  (``merchant_request_rejected`` with ``reason=idempotency_conflict``);
  everything else (401, 403, 404 ...) is ``merchant_request_rejected``;
* a success must be ``application/json`` and translate into the canonical
  model (``merchant_response_invalid`` with the JSON pointer and the release).

Every refusal is a non-retryable :class:`~merchants.errors.MerchantCallError`
unless said otherwise above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx

from contracts import ErrorCode, Redactor, SignatureError, UcpError, content_digest, parse_json
from contracts.ucp import RestOperation
from contracts.ucp.ap2 import REASON as AP2_REASON
from contracts.ucp.ap2 import ap2_active, verify_merchant_authorization
from contracts.ucp.composed_schema import checkout_violation
from core.outbound_http import retry_after_seconds
from core.settings import MerchantSettings
from merchants.errors import MerchantCallError
from merchants.profiles import CachedProfile, ProfileCache

CANONICAL_RELEASE: Final = "2026-04-08"

MAX_MERCHANT_BODY: Final = 4096
_INPUT_REFUSALS: Final = {400: ErrorCode.MERCHANT_INPUT_REJECTED, 422: ErrorCode.MERCHANT_INPUT_REJECTED}


@dataclass(frozen=True)
class MerchantResponse:
    """A verified, valid UCP answer, translated into the canonical model."""

    status_code: int
    body: dict[str, Any]
    response_digest: str  # Content-Digest (sha-256) of the raw bytes, for the audit log
    signed_by: str | None  # kid of the key that signed it
    release: str = ""
    unsigned_accepted: bool = False  # unsigned, accepted under response_signatures = "when_present"
    auth: str | None = None  # the merchant's own authentication the call carried (api_key, oauth2_..., mtls)


async def read_response(
    profiles: ProfileCache,
    profile: CachedProfile,
    operation: RestOperation,
    response: httpx.Response,
    raw: bytes,
    *,
    redactor: Redactor,
) -> MerchantResponse:
    status = response.status_code
    release = profile.release
    if status == 429 or status >= 500:
        raise MerchantCallError(
            f"merchant answered HTTP {status}",
            code=ErrorCode.MERCHANT_UNAVAILABLE,
            retryable=True,
            retry_delay=retry_after_seconds(response),
            http_status=status,
            release=release,
        )
    if 300 <= status < 400:
        raise MerchantCallError(
            "merchant answered with a redirect",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            retryable=False,
            http_status=status,
            release=release,
        )
    policy = profiles.merchant(profile.merchant_id)
    signed_by = await _verify(profiles, profile, response, raw, policy)
    if status >= 400:
        raise refusal(profile, operation, status, raw, redactor)
    body = _translated_body(profile, operation, response, raw)
    if operation is not RestOperation.GET_ORDER:
        _check_composed_schema(profile, raw)
        await _verify_merchant_authorization(profiles, profile, raw)
    return MerchantResponse(
        status_code=status,
        body=body,
        response_digest=content_digest(raw),
        signed_by=signed_by,
        release=release,
        unsigned_accepted=signed_by is None,
        auth=policy.auth.type if policy.auth is not None else None,
    )


def refusal(
    profile: CachedProfile, operation: RestOperation, status: int, raw: bytes, redactor: Redactor
) -> MerchantCallError:
    """A merchant 4xx with the merchant's reason kept (issue 15 "Merchant errors kept", issue 12 item 9)."""
    document = _safe_json(raw)
    messages = profile.adapter.merchant_messages(document)
    reason: dict[str, Any] = {"http_status": status, "release": profile.release}
    if messages:
        redacted = [_redacted_message(message, redactor) for message in messages]
        reason["merchant_messages"] = redacted
        reason["merchant_code"] = messages[0].get("code")
        reason["merchant_content"] = redacted[0].get("content")  # the merchant's words: redacted like the rest
    else:
        if isinstance(document, dict):  # a UCP protocol error is {"code", "content"} (overview "Transport Bindings")
            for member in ("code", "content"):
                if isinstance(document.get(member), str):
                    reason[f"merchant_{member}"] = redactor.redact_text(document[member][:500])
        if raw:
            # Redacted before it is cut, so a secret straddling the cut is never half kept; then bounded.
            text = redactor.redact_text(raw[: 2 * MAX_MERCHANT_BODY].decode("utf-8", "replace"))
            reason["merchant_body"] = text[:MAX_MERCHANT_BODY]
    if status in _INPUT_REFUSALS or status == 413:
        code = _INPUT_REFUSALS.get(status, ErrorCode.PAYLOAD_TOO_LARGE)
        content = f"the merchant refused the request's input (HTTP {status})"
    else:
        code = ErrorCode.MERCHANT_REQUEST_REJECTED
        content = f"merchant rejected {operation.value} with HTTP {status}"
        if status == 409:
            reason["reason"] = "idempotency_conflict"
    pointer = _pointer_of(messages)
    if pointer is None and isinstance(document, dict) and isinstance(document.get("pointer"), str):
        pointer = document["pointer"][:300]  # a protocol error that names the field (as this connector's do)
    return MerchantCallError(content, code=code, retryable=False, **reason).at(pointer)


async def _verify(
    profiles: ProfileCache,
    profile: CachedProfile,
    response: httpx.Response,
    raw: bytes,
    policy: MerchantSettings,
) -> str | None:
    adapter = profile.adapter
    if not adapter.response_signature_present(response.headers):
        if response.status_code >= 400:
            return None  # SIG-30: error responses may be unsigned
        if policy.response_signatures == "when_present":
            return None
        raise MerchantCallError(
            "merchant response is not signed",
            code=ErrorCode.MERCHANT_SIGNATURE_INVALID,
            retryable=False,
            reason="unsigned",
            release=profile.release,
        )
    headers = list(response.headers.multi_items())
    try:
        return await profiles.verify_signature(
            profile, lambda keys: adapter.verify_response(response.status_code, headers, raw, keys)
        )
    except SignatureError as error:
        raise MerchantCallError(
            f"merchant response signature rejected: {error.content}",
            code=ErrorCode.MERCHANT_SIGNATURE_INVALID,
            retryable=False,
            reason=error.reason,
            signature_code=error.code.value,
            release=profile.release,
        ) from error


def _translated_body(
    profile: CachedProfile, operation: RestOperation, response: httpx.Response, raw: bytes
) -> dict[str, Any]:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type != "application/json":
            raise UcpError(f"content type {content_type or 'missing'}", code=ErrorCode.MERCHANT_RESPONSE_INVALID)
        return profile.adapter.decode_response(operation, parse_json(raw))
    except UcpError as error:
        raise MerchantCallError(
            f"merchant response is not valid UCP {profile.release}: {error.content}",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            retryable=False,
            pointer=error.pointer or "",
            release=profile.release,
        ).at(error.pointer) from error


def _redacted_message(message: dict[str, str | None], redactor: Redactor) -> dict[str, str | None]:
    return {name: redactor.redact_text(value) if value is not None else None for name, value in message.items()}


def _pointer_of(messages: list[dict[str, str | None]]) -> str | None:
    """A message ``path`` is a JSONPath (``$.buyer.email``); the platform's error gets it as a JSON pointer."""
    path = next((message.get("path") for message in messages if message.get("path")), None)
    if not path or not path.startswith("$"):
        return None
    parts = path[1:].replace("[", ".").replace("]", "").split(".")
    return "/" + "/".join(part for part in parts if part) if any(parts) else ""


def _check_composed_schema(profile: CachedProfile, raw: bytes) -> None:
    """OVR-17: a 2026-04-08 checkout answer matches the schema composed for its active capabilities.

    Only the release whose wire form *is* the pinned schemas' (other releases are read by their adapters into
    the canonical form, which the models check); a business outcome (``ucp.status: "error"``) has no checkout.
    """
    if profile.release != CANONICAL_RELEASE:
        return
    document = _safe_json(raw)
    ucp = document.get("ucp") if isinstance(document, dict) else None
    if not isinstance(document, dict) or (isinstance(ucp, dict) and ucp.get("status") == "error"):
        return
    violation = checkout_violation(document)
    if violation is not None:
        failure = MerchantCallError(
            violation.content, code=ErrorCode.MERCHANT_RESPONSE_INVALID, retryable=False, release=profile.release
        )
        failure.detail.update(violation.detail)
        raise failure.at(violation.pointer)


async def _verify_merchant_authorization(profiles: ProfileCache, profile: CachedProfile, raw: bytes) -> None:
    """AP2 Mandates active -> the business's ``merchant_authorization`` verifies before anyone sees the checkout.

    Over the checkout as the merchant sent it (contracts.ucp.ap2), with its keys (one budgeted refresh on an
    unknown ``kid``, SIG-09). A failure is an invalid merchant response, so an unknown ``complete`` outcome
    is still reconciled by polling.
    """
    document = _safe_json(raw)
    if not isinstance(document, dict) or not ap2_active(document):
        return
    try:
        await profiles.verify_signature(profile, lambda keys: verify_merchant_authorization(document, keys))
    except UcpError as error:
        failure = MerchantCallError(
            error.content,
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            retryable=False,
            reason=AP2_REASON,
            release=profile.release,
        )
        raise failure.at("/ap2/merchant_authorization") from error


def _safe_json(raw: bytes) -> object:
    try:
        return parse_json(raw)
    except UcpError:
        return None
