"""Storage activities: append audit events and keep the session index current.

The workflow decides *what* happened and in which order (it numbers the
events); these activities make it durable. Both writes are idempotent, so a
retry after a crash is harmless; a storage outage surfaces as a retryable
error and Temporal keeps trying with backoff — nothing accepted is lost
(DESIGN.md invariant 7, audit issue).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from temporalio import activity

from activities.errors import encode_failure
from activities.types import (
    ActivityName,
    AuditRecord,
    SessionIndexRecord,
    StorageBatch,
    StorageBatchWritten,
    StorageWrite,
)
from contracts import ErrorCode
from storage.audit import AuditEvent, AuditOutcome, NewAuditEvent
from storage.errors import StorageError
from storage.repository import Repository
from storage.sessions import SessionUpsert

T = TypeVar("T")


class StorageActivities:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    @activity.defn(name=ActivityName.WRITE_BATCH)
    async def write_batch(self, batch: StorageBatch) -> StorageBatchWritten | None:
        """Write queued audit events and index updates in order, in one transaction (idempotent on retry).

        With ``adopt_orphans`` the events may land after a tail of rows the workflow lost track of
        (``storage/orphans.py``); the result says how far, so the workflow numbers on from there. Where
        they are, the result is ``None``, as it always was (a history no bigger than before).
        """
        stored = await write_records(self._repository, batch.items, adopt_orphans=batch.adopt_orphans)
        return batch_written(batch.items, stored)


def batch_written(items: Sequence[StorageWrite], stored: Sequence[AuditEvent]) -> StorageBatchWritten | None:
    """How far the batch's audit events went after the seqs they were offered at; ``None``: where offered."""
    offered = [item.seq for item in items if isinstance(item, AuditRecord)]
    shift = stored[-1].seq - offered[-1] if offered and stored else 0
    if not shift:
        return None
    # The events before the tail are stored where they were numbered; the first that is not is the
    # position where the orphaned rows begin (the adoption event stands after them, in its place).
    first = next((seq for seq, event in zip(offered, stored, strict=False) if event.seq != seq), None)
    return StorageBatchWritten(shift=shift, first_orphan=first)


async def write_records(
    repository: Repository,
    items: Sequence[AuditRecord | SessionIndexRecord],
    *,
    keep_stored: bool = False,
    adopt_orphans: bool = False,
) -> list[AuditEvent]:
    """The workflow's records as one storage batch (``storage.batch``); an outage is retryable."""
    write = repository.write_batch(
        [to_storage(item) for item in items], keep_stored=keep_stored, adopt_orphans=adopt_orphans
    )
    return await _written(write)


def to_storage(item: AuditRecord | SessionIndexRecord) -> NewAuditEvent | SessionUpsert:
    if isinstance(item, AuditRecord):
        return NewAuditEvent(
            platform_id=item.platform_id,
            session_id=item.session_id,
            seq=item.seq,
            occurred_at=item.occurred_at,
            actor=item.actor,
            action=item.action,
            outcome=AuditOutcome(item.outcome),
            error_code=ErrorCode(item.error_code) if item.error_code else None,
            request_digest=item.request_digest,
            response_digest=item.response_digest,
            payload=item.payload,
        )
    return SessionUpsert(
        session_id=item.session_id,
        platform_id=item.platform_id,
        merchant_id=item.merchant_id,
        status=item.status,
        merchant_checkout_id=item.merchant_checkout_id,
        order_id=item.order_id,
        occurred_at=item.updated_at,
        version=item.version,
    )


async def _written(write: Awaitable[T]) -> T:
    """Await a storage write; an outage (incl. a sequence gap while an earlier write is retried) is
    retryable, a conflict is not (the repository has already logged and alerted it)."""
    try:
        return await write
    except StorageError as error:
        raise encode_failure(error, retryable=error.retryable) from error
