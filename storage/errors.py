"""The storage layer's failure modes, each a :class:`contracts.UcpError` with a frozen code.

Callers need exactly one decision from an error: *retry or not* (DESIGN.md
"Storage"; invariant 7). So every error says it with ``retryable``:

* :class:`StorageUnavailableError` (``service_unavailable``, 503, retryable):
  the database could not be reached, timed out, was locked, or refused the
  statement for an operational reason. Nothing was committed *or* the write is
  safe to repeat (audit writes are idempotent on (session, seq)), so a Temporal
  activity re-raises it and retries with backoff; the API answers 503 and fails
  closed. :class:`AuditSequenceGapError` is the same kind: an explicit ``seq``
  arrived before its predecessor, and the predecessor's writer is still running.
* :class:`AuditConflictError` (``audit_conflict``, 500, not retryable): a
  *different* event was offered for an existing (session, seq), or a session
  would change owner. It is logged as a structlog ``error`` event named
  ``audit_conflict`` (alert on it) and never silently accepted; retrying cannot
  fix it.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import ErrorCode, UcpError
from contracts.errors import DetailValue


class StorageError(UcpError):
    """Base of every storage failure; ``retryable`` tells an activity whether to retry."""

    retryable: bool = False


class StorageUnavailableError(StorageError):
    """Transient: the database is unreachable, slow, locked or not migrated. Retry with backoff."""

    default_code = ErrorCode.SERVICE_UNAVAILABLE
    retryable = True

    def __init__(self, content: str, *, reason: str, detail: Mapping[str, DetailValue] | None = None) -> None:
        super().__init__(content, detail={"reason": reason, **(detail or {})}, retry_after=1)


class AuditSequenceGapError(StorageUnavailableError):
    """``seq`` n was offered before n-1 exists: the earlier write is still in flight; retry."""

    def __init__(self, session_id: str, seq: int) -> None:
        super().__init__(
            f"audit event {seq} of a session arrived before event {seq - 1}",
            reason="sequence_gap",
            detail={"session_id": session_id, "seq": seq},
        )


class AuditConflictError(StorageError):
    """A different event at an existing (session, seq), or a session changing owner. Never retried."""

    default_code = ErrorCode.AUDIT_CONFLICT
    retryable = False
