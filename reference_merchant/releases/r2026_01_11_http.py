"""2026-01-11 on HTTP: the error bodies a samples merchant sends, and the detached JWS of order.md.

Error bodies (what the samples' FastAPI server answers; the connector must
read them):

=====================================  ======  ==========================================================
condition                              status  body
=====================================  ======  ==========================================================
missing header / invalid body          422     ``{"detail": [{"type", "loc", "msg", "input"}]}`` (FastAPI)
version in ``UCP-Agent`` too new       400     ``{"detail": {"status": "error", "errors": [{"code":
                                               "VERSION_UNSUPPORTED", "message", "severity": "critical"}]}}``
unknown checkout or order              404     ``{"detail": "...", "code": "RESOURCE_NOT_FOUND"}``
completed/canceled, or not ready       409     ``{"detail": "...", "code": "CHECKOUT_NOT_MODIFIABLE"}``
key reused with another request        409     ``{"detail": "...", "code": "IDEMPOTENCY_CONFLICT"}``
nothing purchasable                    400     ``{"detail": "...", "code": "OUT_OF_STOCK"|"INVALID_REQUEST"}``
unknown route / method                 404/405 ``{"detail": "Not Found"}`` / ``{"detail": "Method Not Allowed"}``
a bug                                  500     ``Internal Server Error`` (text/plain, Starlette's default)
anything else                          its     ``{"detail": "...", "code": "<CODE IN UPPER CASE>"}``
=====================================  ======  ==========================================================

``input`` is always ``null``: FastAPI echoes the offending value, which may
be payment data; the reference merchant never echoes input.

Detached JWS (order.md "Webhook Signature Verification"): ``Request-Signature``
is an RFC 7515 compact JWS with the payload detached and unencoded
(RFC 7797: protected header ``{"alg": "ES256", "kid", "b64": false,
"crit": ["b64"]}``), so the signing input is ``BASE64URL(header) || "." ||
body bytes`` and the header value is ``BASE64URL(header) + ".." +
BASE64URL(r || s)``. Assumption: the release says "detached JWT (RFC 7797)";
this is the one reading that signs the exact body bytes.
"""

from __future__ import annotations

import json
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from contracts import ErrorCode, SigningKey, UcpError, b64url_encode
from reference_merchant.responses import BusinessOutcome

_STATUS_AND_CODE: Final[dict[ErrorCode, tuple[int, str]]] = {
    ErrorCode.NOT_FOUND: (404, "RESOURCE_NOT_FOUND"),
    ErrorCode.TRANSITION_INVALID: (409, "CHECKOUT_NOT_MODIFIABLE"),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (409, "IDEMPOTENCY_CONFLICT"),
    ErrorCode.OUT_OF_STOCK: (400, "OUT_OF_STOCK"),
    ErrorCode.ITEM_UNAVAILABLE: (400, "INVALID_REQUEST"),
    ErrorCode.CAPABILITIES_INCOMPATIBLE: (400, "INVALID_REQUEST"),
}
_HTTP_DETAIL: Final[dict[ErrorCode, tuple[int, str]]] = {
    ErrorCode.NOT_FOUND: (404, "Not Found"),
    ErrorCode.METHOD_NOT_ALLOWED: (405, "Method Not Allowed"),
}


class LegacyValidationError(UcpError):
    """A request the samples' FastAPI models would refuse: ``422`` with FastAPI's error list."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = "/".join(str(part) for part in first["loc"])
        super().__init__(f"{first['msg']} at {where}", code=ErrorCode.VALIDATION_FAILED)
        self.errors = errors


def missing_header(name: str) -> dict[str, Any]:
    return {"type": "missing", "loc": ["header", name], "msg": "Field required", "input": None}


def error_document(error: UcpError) -> tuple[int, Any]:
    """Status and body of ``error`` as a 2026-01-11 samples merchant answers it (table above)."""
    if isinstance(error, LegacyValidationError):
        return 422, {"detail": error.errors}
    if error.code is ErrorCode.VALIDATION_FAILED:
        location = ["body", *[part for part in (error.pointer or "").split("/") if part]]
        return 422, {"detail": [{"type": error.reason or "value_error", "loc": location, "msg": error.content}]}
    if error.code is ErrorCode.VERSION_UNSUPPORTED:
        problem = {"code": "VERSION_UNSUPPORTED", "message": error.content, "severity": "critical"}
        return 400, {"detail": {"status": "error", "errors": [problem]}}
    if error.code is ErrorCode.INTERNAL_ERROR:
        return 500, "Internal Server Error"
    if not isinstance(error, BusinessOutcome) and error.code in _HTTP_DETAIL:
        status, text = _HTTP_DETAIL[error.code]
        return status, {"detail": text}
    status, code = _STATUS_AND_CODE.get(error.code, (error.http_status, error.code.value.upper()))
    if status == 200:  # a business outcome without a 2026-01-11 counterpart: an invalid request
        status, code = 400, "INVALID_REQUEST"
    return status, {"detail": error.content, "code": code}


def detached_jws(payload: bytes, key: SigningKey) -> str:
    """``Request-Signature`` for ``payload``: compact JWS, payload detached and unencoded (RFC 7515/7797)."""
    header = {"alg": "ES256", "kid": key.kid, "b64": False, "crit": ["b64"]}
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    der = key.private_key.sign(protected.encode("ascii") + b"." + payload, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{protected}..{b64url_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
