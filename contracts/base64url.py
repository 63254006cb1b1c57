"""Base64url without padding (RFC 4648 §5, as JOSE and our cursors use it).

The decoder is strict on purpose: padding, whitespace, characters outside the
url-safe alphabet and non-canonical trailing bits are all refused, so one
value has exactly one spelling and a tampered token cannot decode to the same
bytes as the original.
"""

from __future__ import annotations

import base64
import binascii
import re

from contracts.errors import MalformedInputError

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url text, refusing every non-canonical spelling."""
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text):
        raise MalformedInputError("base64url", "characters outside the unpadded base64url alphabet")
    if len(text) % 4 == 1:
        raise MalformedInputError("base64url", "impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - alphabet check prevents it
        raise MalformedInputError("base64url", "undecodable") from exc
    if b64url_encode(data) != text:
        raise MalformedInputError("base64url", "non-canonical trailing bits")
    return data
