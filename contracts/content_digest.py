"""``Content-Digest`` (RFC 9530) over the raw body bytes, ``sha-256`` only.

UCP binds a body to its signature through this header and requires
``sha-256`` over the exact bytes on the wire, with no JSON canonicalization
(signatures.md "Headers", SIG-14/SIG-15). The header is an RFC 8941
Dictionary; we parse it with ``http-sf`` so that spacing, ordering and extra
members are handled by the grammar, not by string comparison. Other
algorithms a sender adds (e.g. ``sha-512``) are ignored, but ``sha-256`` must
be present and must match.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import http_sf

from contracts.error_codes import ErrorCode
from contracts.errors import SignatureError

MAX_HEADER_LENGTH: Final = 1024


def content_digest(body: bytes) -> str:
    """The ``Content-Digest`` value for ``body``: ``sha-256=:<base64>:``."""
    return str(http_sf.ser({"sha-256": (hashlib.sha256(body).digest(), {})}))


def _mismatch(reason: str, content: str) -> SignatureError:
    return SignatureError(content, code=ErrorCode.DIGEST_MISMATCH, detail={"reason": reason})


def verify_content_digest(header: str | None, body: bytes) -> None:
    """Raise ``digest_mismatch`` unless ``header`` holds the sha-256 of ``body``."""
    if header is None:
        raise _mismatch("missing", "Content-Digest header is required when a body is present")
    if len(header) > MAX_HEADER_LENGTH:
        raise _mismatch("too_large", "Content-Digest header is too large")
    try:
        parsed = http_sf.parse(header.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise _mismatch("malformed", "Content-Digest is not an RFC 8941 dictionary") from exc
    if not isinstance(parsed, dict) or "sha-256" not in parsed:
        raise _mismatch("sha256_absent", "Content-Digest must carry a sha-256 member")
    member = parsed["sha-256"]
    value = member[0] if isinstance(member, tuple) else None
    if not isinstance(value, bytes) or len(value) != hashlib.sha256().digest_size:
        raise _mismatch("malformed", "Content-Digest sha-256 member is not a 32-byte byte sequence")
    if not hmac.compare_digest(value, hashlib.sha256(body).digest()):
        raise _mismatch("mismatch", "Content-Digest does not match the body bytes")
