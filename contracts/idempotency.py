"""Idempotency keys and the identifiers derived from them (DESIGN.md invariants 2-4).

* A platform's ``Idempotency-Key`` must be 22-255 url-safe characters: the
  spec asks for >= 128 bits of entropy (UUID v4 or 22+ random alphanumerics,
  signatures.md "Idempotency Key Requirements"); we can only check the
  *shape*, so the bound is the length at which 128 bits are possible.
* The checkout session id is a hash of (platform id, create key): the same
  create lands on the same workflow, and another platform's key names a
  different id, so no lookup table is needed and no id leaks across platforms.
* Update ids are ``{operation}:{key}``, so Temporal itself dedups a repeated
  update (invariant 3).
* The merchant-facing key of each outbound call is derived from (workflow id,
  operation sequence), so a retried activity after a crash re-sends the *same*
  key and the merchant returns its cached result instead of placing a second
  order (invariant 4, IDM-12). It is a UUID (version 8, RFC 9562) because the
  UCP OpenAPI types ``Idempotency-Key`` as ``format: uuid``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Final

from contracts.error_codes import ErrorCode
from contracts.errors import IdempotencyKeyError

IDEMPOTENCY_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{22,255}")
PLATFORM_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SESSION_ID_PATTERN: Final = re.compile(r"cs_[a-z2-7]{26}")
SESSION_ID_PREFIX: Final = "cs_"


def validate_idempotency_key(value: str | None) -> str:
    """Return the key, or raise ``idempotency_key_missing`` / ``idempotency_key_invalid``."""
    if value is None or value == "":
        raise IdempotencyKeyError(
            "Idempotency-Key header is required on this operation", code=ErrorCode.IDEMPOTENCY_KEY_MISSING
        )
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise IdempotencyKeyError(
            "Idempotency-Key must be 22-255 characters from [A-Za-z0-9_-] (at least 128 bits of entropy)",
            code=ErrorCode.IDEMPOTENCY_KEY_INVALID,
            detail={"reason": "format"},
        )
    return value


def _length_prefixed(*parts: str) -> bytes:
    # Length prefixes make ("ab", "c") and ("a", "bc") hash differently.
    return b"".join(len(part.encode()).to_bytes(4, "big") + part.encode() for part in parts)


def checkout_session_id(platform_id: str, idempotency_key: str) -> str:
    """``cs_`` + 26 base32 characters (130 bits) of sha256(platform id, create key)."""
    digest = hashlib.sha256(b"ucp-connector/session/v1" + _length_prefixed(platform_id, idempotency_key)).digest()
    return SESSION_ID_PREFIX + base64.b32encode(digest).decode("ascii").lower()[:26]


def is_session_id(value: str) -> bool:
    return bool(SESSION_ID_PATTERN.fullmatch(value))


def checkout_workflow_id(platform_id: str, session_id: str) -> str:
    """The Temporal workflow id of a session: ``checkout/{platform_id}/{session_id}``."""
    return f"checkout/{platform_id}/{session_id}"


def update_id(operation: str, idempotency_key: str) -> str:
    """The Temporal update id of a lifecycle operation: ``{operation}:{key}``."""
    return f"{operation}:{idempotency_key}"


def outbound_idempotency_key(workflow_id: str, operation_sequence: int) -> str:
    """Deterministic merchant-facing ``Idempotency-Key`` for the n-th merchant call of a workflow."""
    digest = hashlib.sha256(
        b"ucp-connector/outbound/v1" + _length_prefixed(workflow_id, str(operation_sequence))
    ).digest()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))
