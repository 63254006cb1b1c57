"""Storage activities: append audit events and keep the session index current.

The workflow decides *what* happened and in which order (it numbers the
events); these activities make it durable. Both writes are idempotent, so a
retry after a crash is harmless; a storage outage surfaces as a retryable
error and Temporal keeps trying with backoff — nothing accepted is lost
(DESIGN.md invariant 7, audit issue).
"""

from __future__ import annotations

from collections.abc import Awaitable

from temporalio import activity

from activities.errors import encode_failure
from activities.types import ActivityName, AuditRecord, SessionIndexRecord, StorageBatch
from contracts import ErrorCode
from storage.audit import AuditOutcome, NewAuditEvent
from storage.errors import StorageError
from storage.repository import Repository
from storage.sessions import SessionUpsert


class StorageActivities:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    @activity.defn(name=ActivityName.WRITE_BATCH)
    async def write_batch(self, batch: StorageBatch) -> None:
        """Write queued audit events and index updates in order (each write is idempotent on retry)."""
        for item in batch.items:
            if isinstance(item, AuditRecord):
                await self.append_audit_event(item)
            else:
                await self.index_session(item)

    async def append_audit_event(self, record: AuditRecord) -> None:
        event = NewAuditEvent(
            platform_id=record.platform_id,
            session_id=record.session_id,
            seq=record.seq,
            occurred_at=record.occurred_at,
            actor=record.actor,
            action=record.action,
            outcome=AuditOutcome(record.outcome),
            error_code=ErrorCode(record.error_code) if record.error_code else None,
            request_digest=record.request_digest,
            response_digest=record.response_digest,
            payload=record.payload,
        )
        await _written(self._repository.append_audit_event(event))

    async def index_session(self, record: SessionIndexRecord) -> None:
        change = SessionUpsert(
            session_id=record.session_id,
            platform_id=record.platform_id,
            merchant_id=record.merchant_id,
            status=record.status,
            merchant_checkout_id=record.merchant_checkout_id,
            order_id=record.order_id,
            occurred_at=record.updated_at,
            version=record.version,
        )
        await _written(self._repository.upsert_session(change))


async def _written(write: Awaitable[object]) -> None:
    """Await a storage write; an outage (incl. a sequence gap while an earlier write is retried) is
    retryable, a conflict is not (the repository has already logged and alerted it)."""
    try:
        await write
    except StorageError as error:
        raise encode_failure(error, retryable=error.retryable) from error
