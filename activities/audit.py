"""Storage activities: append audit events and keep the session index current.

The workflow decides *what* happened and in which order (it numbers the
events); these activities make it durable. Both writes are idempotent, so a
retry after a crash is harmless; a storage outage surfaces as a retryable
error and Temporal keeps trying with backoff — nothing accepted is lost
(DESIGN.md invariant 7, audit issue).
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from activities.types import AuditRecord, SessionIndexRecord


class AuditRepository(Protocol):
    async def append_audit_event(self, record: AuditRecord) -> None: ...

    async def index_session(self, record: SessionIndexRecord) -> None: ...


class StorageActivities:
    def __init__(self, repository: AuditRepository) -> None:
        self._repository = repository

    @activity.defn
    async def append_audit_event(self, record: AuditRecord) -> None:
        await self._repository.append_audit_event(record)

    @activity.defn
    async def index_session(self, record: SessionIndexRecord) -> None:
        await self._repository.index_session(record)
