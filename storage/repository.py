"""The one storage API that activities and the connector API use (DESIGN.md "Storage", invariants 6, 7, 9).

:class:`Repository` owns an async engine, the redactor and the cursor codec:

* :meth:`Repository.append_audit_event` -- redact, chain, store. Idempotent on
  (session_id, seq): the same event again is a no-op that returns the stored
  row; a different event at a taken (session_id, seq) raises
  :class:`~storage.errors.AuditConflictError` after logging a structlog
  ``error`` event ``audit_conflict`` (never silently accepted).
* :meth:`Repository.list_session_events` -- a session's events by ``seq``.
* :meth:`Repository.upsert_session` / :meth:`Repository.get_session` /
  :meth:`Repository.list_sessions` -- the session index, paged by
  (``created_at``, ``session_id``) with status/merchant filters.
* :meth:`Repository.verify_chains` -- recompute every chain (storage/verify.py).

Concurrency: the unique key (session_id, seq) is the only arbiter, on both
backends. A writer reads its predecessor's hash and inserts; if another
writer won the same (session_id, seq) the insert fails, and the loser re-reads
the winner and compares -- identical means "already written", different means
conflict. Rows are never updated, so a predecessor cannot change under a
writer, and the chain cannot fork.

Failure modes (what a caller must handle; storage/errors.py):

=============================  =====================  ==========================================
error                          code / status          caller
=============================  =====================  ==========================================
StorageUnavailableError        service_unavailable    retry with backoff (Temporal activity);
(incl. AuditSequenceGapError)  503, ``retryable``     API answers 503 and does not proceed
AuditConflictError             audit_conflict 500     do not retry; it is already logged/alerted
CursorInvalidError             cursor_invalid 400     API returns it as is
pydantic ValidationError       (programming error)    fix the caller
=============================  =====================  ==========================================

A write that raised may or may not have committed (the connection can drop
after COMMIT); retrying the same event is always safe, so nothing accepted is
lost and nothing is written twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import structlog
from pydantic import SecretStr
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import CursorCodec, CursorInvalidError, ErrorCode, Redactor, UcpError, canonical_json
from core.keyfiles import load_secret
from core.settings import Settings
from storage import batch
from storage.audit import GENESIS_HASH, AuditEvent, NewAuditEvent, format_timestamp
from storage.batch import BatchItem
from storage.database import (
    is_sqlite,
    make_engine,
    sqlite_batch_engine,
    sync_write_transaction,
    translate_errors,
    write_transaction,
)
from storage.errors import AuditSequenceGapError, StorageUnavailableError
from storage.models import audit_events, sessions
from storage.sessions import SessionFilters, SessionRecord, SessionUpsert
from storage.verify import ChainReport, verify_chains

T = TypeVar("T")

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
EXPLICIT_ATTEMPTS: Final = 5
TAIL_ATTEMPTS: Final = 50

_log = structlog.get_logger("ucp_connector.storage")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None


def _invalid_cursor(reason: str = "malformed") -> CursorInvalidError:
    return CursorInvalidError(f"cursor is not valid ({reason})", detail={"reason": reason})


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise UcpError(
            f"limit must be between 1 and {MAX_PAGE_SIZE}",
            code=ErrorCode.VALIDATION_FAILED,
            detail={"reason": "limit", "field": "limit"},
        )
    return limit


class Repository:
    """Audit log and session index over one async engine (PostgreSQL or SQLite)."""

    def __init__(self, engine: AsyncEngine, *, redactor: Redactor, cursors: CursorCodec) -> None:
        self._engine = engine
        self._redactor = redactor
        self._cursors = cursors
        self._batch_engine = sqlite_batch_engine(engine) if is_sqlite(engine) else None

    @classmethod
    def from_settings(cls, settings: Settings, *, create_secrets: bool = False) -> Repository:
        """Build from the settings; ``create_secrets`` (dev and tests only) makes missing 0600 secret files."""
        storage = settings.storage
        salt = load_secret(settings.redaction_salt_file, inline=_secret(storage.redaction_salt), create=create_secrets)
        secret = load_secret(settings.cursor_secret_file, inline=_secret(storage.cursor_secret), create=create_secrets)
        engine = make_engine(settings.database_url, schema=storage.database_schema)
        return cls(engine, redactor=Redactor(salt), cursors=CursorCodec(secret))

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def batch_engine(self) -> Engine | None:
        """Where SQLite batches are written (``storage.database.sqlite_batch_engine``); None on PostgreSQL."""
        return self._batch_engine

    async def close(self) -> None:
        if self._batch_engine is not None:
            self._batch_engine.dispose()
        await self._engine.dispose()

    async def ping(self) -> None:
        """Raise :class:`StorageUnavailableError` unless the audit table can be read (readiness)."""
        with translate_errors("ping"):
            async with self._engine.connect() as connection:
                await connection.execute(select(audit_events.c.id).limit(1))

    # ------------------------------------------------------------------ audit log

    async def append_audit_event(self, event: NewAuditEvent) -> AuditEvent:
        """Redact, chain and store ``event``; return the stored row (the existing one for a retry)."""
        payload = self._redactor.redact(event.payload)
        if event.seq is None:
            return await self._append_at_tail(event, payload)
        document = batch.document(event, event.seq, payload)
        canonical_json(document)  # refuse what cannot be hashed before touching the database
        for _attempt in range(EXPLICIT_ATTEMPTS):
            try:
                with translate_errors("audit append"):
                    async with write_transaction(self._engine) as connection:
                        existing = (
                            await connection.execute(
                                select(audit_events).where(
                                    audit_events.c.session_id == event.session_id, audit_events.c.seq == event.seq
                                )
                            )
                        ).first()
                        if existing is not None:
                            return batch.same_or_conflict(existing, document)
                        prev_hash = await _predecessor_hash(connection, event)
                        return await batch.insert_event(connection, document, prev_hash)
            except IntegrityError:
                continue  # a concurrent writer took (session_id, seq) first: re-read it and compare
        raise StorageUnavailableError("audit append kept colliding", reason="contention")

    async def _append_at_tail(self, event: NewAuditEvent, payload: Any) -> AuditEvent:
        canonical_json(batch.document(event, 1, payload))
        for attempt in range(TAIL_ATTEMPTS):
            try:
                with translate_errors("audit append"):
                    async with write_transaction(self._engine) as connection:
                        last = (
                            await connection.execute(
                                select(audit_events.c.seq, audit_events.c.hash, audit_events.c.platform_id)
                                .where(audit_events.c.session_id == event.session_id)
                                .order_by(audit_events.c.seq.desc())
                                .limit(1)
                            )
                        ).first()
                        if last is not None and last.platform_id != event.platform_id:
                            raise batch.conflict(event.session_id, last.seq + 1, "platform_mismatch")
                        seq = 1 if last is None else last.seq + 1
                        prev_hash = GENESIS_HASH if last is None else last.hash
                        return await batch.insert_event(connection, batch.document(event, seq, payload), prev_hash)
            except IntegrityError:
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not crypto
        raise StorageUnavailableError("audit append kept colliding", reason="contention")

    async def list_session_events(
        self, session_id: str, platform_id: str, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[AuditEvent]:
        """The session's events in ``seq`` order; another platform's session reads as empty."""
        limit = _check_limit(limit)
        scope = f"events:{platform_id}:{session_id}"
        after = 0
        if cursor is not None:
            key = self._cursors.decode(cursor, scope=scope)
            value = key.get("seq")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _invalid_cursor()
            after = value
        query = (
            select(audit_events)
            .where(
                audit_events.c.session_id == session_id,
                audit_events.c.platform_id == platform_id,
                audit_events.c.seq > after,
            )
            .order_by(audit_events.c.seq)
            .limit(limit + 1)
        )
        with translate_errors("audit read"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        items = [AuditEvent.model_validate(row, from_attributes=True) for row in rows[:limit]]
        next_cursor = self._cursors.encode({"seq": items[-1].seq}, scope=scope) if len(rows) > limit else None
        return Page(items, next_cursor)

    async def verify_chains(
        self, session_id: str | None = None, *, progress: Callable[[int], None] | None = None
    ) -> ChainReport:
        return await verify_chains(self._engine, session_id=session_id, progress=progress)

    # ------------------------------------------------------------------ session index

    async def upsert_session(self, change: SessionUpsert) -> SessionRecord:
        """Create the session's index row, or move it forward if ``change.version`` is newer."""
        with translate_errors("session write"):
            async with write_transaction(self._engine) as connection:
                return await batch.upsert_session(connection, change, sqlite=is_sqlite(self._engine))

    async def write_batch(
        self, items: Sequence[BatchItem], *, keep_stored: bool = False, adopt_orphans: bool = False
    ) -> list[AuditEvent]:
        """Audit events (explicit ``seq``) and index rows in one transaction, in order (``storage.batch``;
        ``adopt_orphans``: after an orphaned tail, ``storage.orphans``)."""
        rules = {"keep_stored": keep_stored, "adopt_orphans": adopt_orphans}
        for _attempt in range(EXPLICIT_ATTEMPTS):
            try:
                with translate_errors("audit append"):
                    if self._batch_engine is not None:  # SQLite: the whole batch in one thread hop
                        return await asyncio.to_thread(self._write_batch_sync, self._batch_engine, items, rules)
                    async with write_transaction(self._engine) as connection:
                        return await batch.write_batch(connection, self._redactor, items, sqlite=False, **rules)
            except IntegrityError:
                continue  # a concurrent writer took a (session_id, seq) first: re-read and compare
        raise StorageUnavailableError("audit append kept colliding", reason="contention")

    def _write_batch_sync(self, engine: Engine, items: Sequence[BatchItem], rules: dict[str, bool]) -> list[AuditEvent]:
        with sync_write_transaction(engine) as connection:
            plan = batch.batch_plan(self._redactor, items, sqlite=True, **rules)
            return batch.run_sync(connection, plan)

    async def get_session(self, session_id: str, platform_id: str) -> SessionRecord | None:
        """The session if it belongs to ``platform_id``; another platform's session is None (404)."""
        query = select(sessions).where(sessions.c.session_id == session_id, sessions.c.platform_id == platform_id)
        with translate_errors("session read"):
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).first()
        return None if row is None else SessionRecord.model_validate(row, from_attributes=True)

    async def find_session_by_merchant_ids(
        self, merchant_id: str, *, merchant_checkout_id: str | None = None, order_id: str | None = None
    ) -> SessionRecord | None:
        """The session a merchant's checkout or order id belongs to, scoped to that merchant (ORD-21)."""
        if (merchant_checkout_id is None) == (order_id is None):
            raise ValueError("give exactly one of merchant_checkout_id or order_id")
        column = sessions.c.merchant_checkout_id if merchant_checkout_id is not None else sessions.c.order_id
        query = select(sessions).where(
            sessions.c.merchant_id == merchant_id, column == (merchant_checkout_id or order_id)
        )
        with translate_errors("session read"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query.limit(2))).all()
        # Ids are unique per merchant; two rows would mean a merchant reused an id: refuse to guess.
        return SessionRecord.model_validate(rows[0], from_attributes=True) if len(rows) == 1 else None

    async def list_sessions(
        self,
        platform_id: str,
        filters: SessionFilters | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> Page[SessionRecord]:
        """The platform's sessions ordered by (created_at, session_id); stable while rows are inserted."""
        limit = _check_limit(limit)
        filters = filters or SessionFilters()
        scope = filters.scope(platform_id)
        conditions = [sessions.c.platform_id == platform_id]
        if filters.status is not None:
            conditions.append(sessions.c.status == filters.status)
        if filters.merchant_id is not None:
            conditions.append(sessions.c.merchant_id == filters.merchant_id)
        if cursor is not None:
            created_at, session_id = _session_position(self._cursors.decode(cursor, scope=scope))
            conditions.append(
                or_(
                    sessions.c.created_at > created_at,
                    and_(sessions.c.created_at == created_at, sessions.c.session_id > session_id),
                )
            )
        query = (
            select(sessions).where(*conditions).order_by(sessions.c.created_at, sessions.c.session_id).limit(limit + 1)
        )
        with translate_errors("session read"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        items = [SessionRecord.model_validate(row, from_attributes=True) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = self._cursors.encode(
                {"created_at": format_timestamp(last.created_at), "id": last.session_id}, scope=scope
            )
        return Page(items, next_cursor)


async def _predecessor_hash(connection: AsyncConnection, event: NewAuditEvent) -> str:
    assert event.seq is not None
    if event.seq == 1:
        return GENESIS_HASH
    previous = (
        await connection.execute(
            select(audit_events.c.hash, audit_events.c.platform_id).where(
                audit_events.c.session_id == event.session_id, audit_events.c.seq == event.seq - 1
            )
        )
    ).first()
    if previous is None:
        raise AuditSequenceGapError(event.session_id, event.seq)
    if previous.platform_id != event.platform_id:
        raise batch.conflict(event.session_id, event.seq, "platform_mismatch")
    return str(previous.hash)


def _session_position(key: dict[str, Any]) -> tuple[dt.datetime, str]:
    created_at, session_id = key.get("created_at"), key.get("id")
    if not isinstance(created_at, str) or not isinstance(session_id, str):
        raise _invalid_cursor()
    try:
        position = dt.datetime.fromisoformat(created_at)
    except ValueError as exc:
        raise _invalid_cursor() from exc
    if position.tzinfo is None:
        raise _invalid_cursor()
    return position, session_id
