"""Audit events and their per-session hash chain (DESIGN.md invariant 7).

The hashed event
----------------
Each stored event is chained to the previous event *of the same session*::

    hash = lowercase_hex(sha256(ascii(prev_hash) || JCS(hashed_event)))

where ``prev_hash`` is the 64-hex-character ``hash`` of event ``seq - 1``
(``"0" * 64`` for ``seq == 1``), ``||`` is byte concatenation and ``JCS`` is
RFC 8785 canonical JSON (:func:`contracts.canonical_json`). The hashed event
is exactly this object (every member always present, ``null`` when absent)::

    {
      "v": 1,                        # version of this hashing scheme
      "platform_id": "...",          # owner of the session
      "session_id": "cs_...",
      "seq": 1,                      # 1, 2, 3 ... within the session
      "occurred_at": "2026-04-08T12:00:00.000000Z",   # UTC, always 6 fraction digits
      "actor": "platform:acme",
      "action": "checkout.create",
      "outcome": "accepted",         # accepted | rejected | succeeded | failed | declined
      "error_code": null,            # a frozen contracts.ErrorCode value, or null
      "request_digest": null,        # Content-Digest value of the request body (RFC 9530), or null
      "response_digest": null,       # Content-Digest value of the response body, or null
      "payload": {...}               # the REDACTED payload, as stored
    }

The global row ``id`` is *not* hashed: the database assigns it, so a retried
write could not reproduce it, and ordering within a session is ``seq``.
``prev_hash`` and ``hash`` are the chain itself. Because ``seq`` and
``session_id`` are hashed, moving an event to another position or session
breaks the chain at that event; because each hash covers its predecessor,
editing an event breaks it there (or, if the editor re-hashed it, at the next
event). Deleting the *last* events of a session cannot be seen from the chain
alone (see storage/README.md).

``occurred_at`` is part of the event, so a retried writer must resend the same
value (take it from the workflow's clock or the request's receipt time, not
from the retry).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts import ErrorCode, canonical_json

HASH_VERSION: Final = 1
GENESIS_HASH: Final = "0" * 64
DIGEST_PATTERN: Final = r"sha-256=:[A-Za-z0-9+/]{43}=:"
ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_:./@-]{0,63}"


class AuditOutcome(StrEnum):
    ACCEPTED = "accepted"  # a platform request the connector accepted
    REJECTED = "rejected"  # a platform request the connector refused (error_code says why)
    SUCCEEDED = "succeeded"  # a call the connector made (merchant, webhook) that succeeded
    FAILED = "failed"  # a call the connector made that failed (error_code says why)
    # A merchant call answered with a business outcome that refuses what was asked (a declined payment,
    # an item out of stock: checkout.md "Messages"); payload.business_outcomes names the merchant's codes.
    DECLINED = "declined"


def format_timestamp(value: dt.datetime) -> str:
    """The one text form of a timestamp in the chain: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("must be timezone-aware")
    return value.astimezone(dt.UTC)


UtcInstant = Annotated[dt.datetime, AfterValidator(_utc)]
"""A timezone-aware instant, normalised to UTC (naive datetimes are refused: their zone is a guess)."""


class NewAuditEvent(BaseModel):
    """What a writer offers. ``payload`` is raw here; the repository redacts it before hashing and storing.

    ``seq`` given: the event is written at exactly that position and the write
    is idempotent on (session_id, seq). ``seq`` omitted: the event is appended
    after the session's last event (for writers that keep no sequence; do not
    mix both styles on one session, or the explicit writer will conflict).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform_id: str = Field(pattern=ID_PATTERN)
    session_id: str = Field(pattern=ID_PATTERN)
    seq: int | None = Field(default=None, ge=1, le=2**31 - 1)
    occurred_at: UtcInstant
    actor: str = Field(min_length=1, max_length=128)
    action: str = Field(min_length=1, max_length=64)
    outcome: AuditOutcome
    error_code: ErrorCode | None = None
    request_digest: str | None = Field(default=None, pattern=DIGEST_PATTERN)
    response_digest: str | None = Field(default=None, pattern=DIGEST_PATTERN)
    payload: dict[str, Any] = Field(default_factory=dict)


class AuditEvent(BaseModel):
    """A stored event, as read back (payload redacted)."""

    model_config = ConfigDict(frozen=True)

    id: int
    platform_id: str
    session_id: str
    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    outcome: str
    error_code: str | None
    request_digest: str | None
    response_digest: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def to_api_dict(self) -> dict[str, Any]:
        """The JSON shape the events endpoint returns (timestamps in the chain's text form)."""
        document = self.model_dump(exclude={"id"})
        document["occurred_at"] = format_timestamp(self.occurred_at)
        return document


def hashed_event(
    *,
    platform_id: str,
    session_id: str,
    seq: int,
    occurred_at: dt.datetime | str,
    actor: str,
    action: str,
    outcome: str,
    error_code: str | None,
    request_digest: str | None,
    response_digest: str | None,
    payload: Any,
) -> dict[str, Any]:
    """The object that is canonicalised and hashed (module docstring)."""
    timestamp = occurred_at if isinstance(occurred_at, str) else format_timestamp(occurred_at)
    return {
        "v": HASH_VERSION,
        "platform_id": platform_id,
        "session_id": session_id,
        "seq": seq,
        "occurred_at": timestamp,
        "actor": actor,
        "action": action,
        "outcome": outcome,
        "error_code": error_code,
        "request_digest": request_digest,
        "response_digest": response_digest,
        "payload": payload,
    }


def chain_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """``hex(sha256(ascii(prev_hash) || JCS(event)))``."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(event)).hexdigest()


def row_event(row: Any) -> dict[str, Any]:
    """The hashed event of a stored row (a SQLAlchemy row or :class:`AuditEvent`)."""
    return hashed_event(
        platform_id=row.platform_id,
        session_id=row.session_id,
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        outcome=row.outcome,
        error_code=row.error_code,
        request_digest=row.request_digest,
        response_digest=row.response_digest,
        payload=row.payload,
    )
