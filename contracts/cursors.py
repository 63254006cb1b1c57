"""Opaque, tamper-evident list cursors (DESIGN.md invariant 9).

A cursor is the *sort key of the last row returned* (e.g. ``created_at`` and
``id``), so the next page is "rows strictly after this key" under a total
order: rows inserted while a client pages never shift it, and no row is
skipped or repeated. The key is wrapped as::

    base64url(JCS({"k": <sort key>, "s": <scope>, "x": <expiry>})) "." base64url(HMAC-SHA256)

* **tamper-evident**: the HMAC covers the canonical bytes, so any edit fails;
* **scoped**: ``scope`` binds a cursor to one listing for one caller (e.g.
  ``sessions:platform-a`` or ``events:cs_...``); another platform's or another
  endpoint's cursor is *foreign* and refused, even though its MAC is valid;
* **expiring**: an optional TTL keeps old cursors from living forever.

All failures raise :class:`~contracts.errors.CursorInvalidError` (``cursor_invalid``)
with ``detail.reason`` one of ``malformed``, ``bad_mac``, ``foreign``, ``expired``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from contracts.base64url import b64url_decode, b64url_encode
from contracts.canonical_json import canonical_json, parse_json
from contracts.errors import CursorInvalidError, UcpError

MAX_CURSOR_LENGTH: Final = 1024
MIN_SECRET_BYTES: Final = 32

CursorValue = str | int | bool | None


def _invalid(reason: str) -> CursorInvalidError:
    return CursorInvalidError(f"cursor is not valid ({reason})", detail={"reason": reason})


class CursorCodec:
    """Encodes and checks cursors with one server-side secret."""

    def __init__(self, secret: bytes, *, ttl: dt.timedelta | None = dt.timedelta(days=1)) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"cursor secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._ttl = ttl

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def encode(self, sort_key: Mapping[str, CursorValue], *, scope: str, now: dt.datetime | None = None) -> str:
        expiry = None
        if self._ttl is not None:
            expiry = int(((now or dt.datetime.now(dt.UTC)) + self._ttl).timestamp())
        payload = canonical_json({"k": dict(sort_key), "s": scope, "x": expiry})
        return f"{b64url_encode(payload)}.{b64url_encode(self._mac(payload))}"

    def decode(self, cursor: str, *, scope: str, now: dt.datetime | None = None) -> dict[str, CursorValue]:
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise _invalid("malformed")
        encoded_payload, encoded_mac = cursor.split(".")
        try:
            payload = b64url_decode(encoded_payload)
            mac = b64url_decode(encoded_mac)
        except UcpError as exc:
            raise _invalid("malformed") from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid("bad_mac")
        try:
            document = parse_json(payload)
        except UcpError as exc:  # pragma: no cover - we MAC only what we produced
            raise _invalid("malformed") from exc
        if not isinstance(document, dict) or not isinstance(document.get("k"), dict):
            raise _invalid("malformed")  # pragma: no cover - ditto
        if document.get("s") != scope:
            raise _invalid("foreign")
        expiry = document.get("x")
        if expiry is not None and int((now or dt.datetime.now(dt.UTC)).timestamp()) > expiry:
            raise _invalid("expired")
        sort_key: dict[str, CursorValue] = document["k"]
        return sort_key
