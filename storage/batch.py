"""One transaction per batch: a session's audit events and index rows, written in the order decided.

A checkout operation's audit trail is a handful of events with consecutive
``seq`` numbers plus an index row. Written one event per transaction, each
needs a SELECT of its own row (idempotency), a SELECT of its predecessor's
hash and a COMMIT (an fsync); this module writes the whole batch in one
transaction: one SELECT of the rows already stored in the batch's range (and
the predecessor of its first event), then the inserts, each event's
``prev_hash`` carried from the one before it in memory. The rules stay those
of :meth:`storage.repository.Repository.append_audit_event` (DESIGN.md
invariant 7): idempotent on (session_id, seq) — a stored identical event is
"already written", a different one is :class:`~storage.errors.AuditConflictError`
— and a missing predecessor is a retryable :class:`~storage.errors.AuditSequenceGapError`.

``keep_stored`` serves writers whose events are derived from a merchant answer
that a retry may see slightly differently (a re-sent call answered from the
merchant's idempotency cache): when every position of the batch already holds
the same call (same action, request digest and outbound idempotency key), the
stored rows are the record and are returned as they are, instead of failing the
retry with a conflict. The deterministic key is (session_id, seq, action,
request digest, outbound key): another call at those positions is not kept.

``adopt_orphans`` serves the writes of the session's outbox and of an
operation's local activity: a tail of rows the workflow never learned it wrote
(a lost workflow task, ``storage/orphans.py``) is kept and the batch appended
after it, never a conflict that holds the session forever, never an overwrite.
With both, a retry of the same call is kept first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Generator, Sequence
from typing import Any, Final, TypeVar

import structlog
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from contracts import Redactor, canonical_json
from storage.audit import GENESIS_HASH, AuditEvent, NewAuditEvent, chain_hash, hashed_event, row_event
from storage.errors import AuditConflictError, AuditSequenceGapError
from storage.models import audit_events, sessions
from storage.orphans import adopted
from storage.sessions import SessionRecord, SessionUpsert

BatchItem = NewAuditEvent | SessionUpsert
T = TypeVar("T")
# A write as a plan (issue 13): it yields (statement, parameters) and is sent each result, so the same rules run
# on an async connection (PostgreSQL) or, on SQLite, on a plain connection in one thread hop per batch (run_sync)
# instead of aiosqlite's hop per driver call.
Plan = Generator[tuple[Executable, list[dict[str, Any]] | None], Any, T]


async def run_async(connection: AsyncConnection, plan: Plan[T]) -> T:
    """Run ``plan``'s statements on an async connection, in its transaction."""
    try:
        statement, parameters = next(plan)
        while True:
            statement, parameters = plan.send(await connection.execute(statement, parameters))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def run_sync(connection: Connection, plan: Plan[T]) -> T:
    """Run ``plan``'s statements on a plain (sync) connection, in its transaction."""
    try:
        statement, parameters = next(plan)
        while True:
            statement, parameters = plan.send(connection.execute(statement, parameters))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


_log = structlog.get_logger("ucp_connector.storage")


def document(event: NewAuditEvent, seq: int, payload: Any) -> dict[str, Any]:
    """The hashed form of ``event`` at ``seq`` with its (already redacted) payload."""
    return hashed_event(
        platform_id=event.platform_id,
        session_id=event.session_id,
        seq=seq,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        outcome=event.outcome.value,
        error_code=None if event.error_code is None else event.error_code.value,
        request_digest=event.request_digest,
        response_digest=event.response_digest,
        payload=payload,
    )


def conflict(session_id: str, seq: int, reason: str, **facts: str) -> AuditConflictError:
    _log.error("audit_conflict", alert=True, session_id=session_id, seq=seq, reason=reason, **facts)
    return AuditConflictError(
        f"audit conflict in session {session_id} at {seq} ({reason}); nothing was overwritten",
        detail={"reason": reason, "session_id": session_id, "seq": seq},
    )


def same_or_conflict(existing: Any, offered: dict[str, Any]) -> AuditEvent:
    if canonical_json(row_event(existing)) == canonical_json(offered):
        return AuditEvent.model_validate(existing, from_attributes=True)
    raise conflict(
        existing.session_id,
        existing.seq,
        "different_event",
        stored_hash=existing.hash,
        offered_hash=chain_hash(existing.prev_hash, offered),
    )


def event_row(offered: dict[str, Any], prev_hash: str, canonical: bytes | None = None) -> dict[str, Any]:
    """The audit row of a hashed event document after ``prev_hash``: its columns, ``hash`` computed
    (``canonical``: the document's RFC 8785 bytes when the caller has them already; same hash)."""
    values = {key: value for key, value in offered.items() if key != "v"}
    values["occurred_at"] = dt.datetime.strptime(offered["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    values["prev_hash"] = prev_hash
    values["hash"] = (
        chain_hash(prev_hash, offered)
        if canonical is None
        else hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
    )
    return values


async def insert_event(connection: AsyncConnection, offered: dict[str, Any], prev_hash: str) -> AuditEvent:
    values = event_row(offered, prev_hash)
    row_id = (
        await connection.execute(audit_events.insert().values(**values).returning(audit_events.c.id))
    ).scalar_one()
    return AuditEvent(id=row_id, **values)


_INSERT: Final = audit_events.insert().returning(audit_events.c.id, audit_events.c.session_id, audit_events.c.seq)


def insert_rows(rows: Sequence[dict[str, Any]]) -> Plan[list[AuditEvent]]:
    """Insert audit rows in one statement (a multi-row INSERT ... RETURNING); each id is matched by its
    (session_id, seq), so no driver has to keep RETURNING in parameter order."""
    if not rows:
        return []
    ids = {(found.session_id, found.seq): found.id for found in (yield _INSERT, list(rows))}
    return [AuditEvent(id=ids[(row["session_id"], row["seq"])], **row) for row in rows]


async def upsert_session(connection: AsyncConnection, change: SessionUpsert, *, sqlite: bool) -> SessionRecord:
    """Create the session's index row, or move it forward if ``change.version`` is newer (in ``connection``)."""
    return await run_async(connection, upsert_plan(change, sqlite=sqlite))


def upsert_plan(change: SessionUpsert, *, sqlite: bool) -> Plan[SessionRecord]:
    # The usual write, a known session moving forward, is one statement (issue 13: it was three); a new
    # session, a stale version or another owner takes the insert-or-read path below, which decides each.
    # A session's first status (version 1) is usually new: it goes to that path at once.
    if change.version > FIRST_VERSION:
        moved = (yield _forward(change)).first()
        if moved is not None:
            return SessionRecord.model_validate(moved, from_attributes=True)
    yield (
        _NEW_SESSION_SQLITE if sqlite else _NEW_SESSION_POSTGRESQL,
        [
            {
                "session_id": change.session_id,
                "platform_id": change.platform_id,
                "merchant_id": change.merchant_id,
                "merchant_checkout_id": change.merchant_checkout_id,
                "order_id": change.order_id,
                "status": change.status,
                "created_at": change.occurred_at,
                "updated_at": change.occurred_at,
                "version": change.version,
            }
        ],
    )
    row = yield from _session_row(change.session_id)
    if row.platform_id != change.platform_id or row.merchant_id != change.merchant_id:
        raise conflict(change.session_id, change.version, "session_owner_mismatch")
    if change.version > row.version:
        moved = (yield _forward(change)).first()
        row = moved if moved is not None else (yield from _session_row(change.session_id))
    return SessionRecord.model_validate(row, from_attributes=True)


FIRST_VERSION = 1  # the version of a session's first index write (its first status)
# Every statement of a batch is built once (issue 13: building and cache-keying them per write was a third of a
# batch's CPU); each write passes its values as parameters.
_NEW_SESSION_SQLITE: Final = sqlite_insert(sessions).on_conflict_do_nothing(index_elements=["session_id"])
_NEW_SESSION_POSTGRESQL: Final = postgresql_insert(sessions).on_conflict_do_nothing(index_elements=["session_id"])
_SESSION_ROW: Final = select(sessions).where(sessions.c.session_id == bindparam("s_session_id"))


def _forward(change: SessionUpsert) -> tuple[Executable, list[dict[str, Any]]]:
    """The row moved to ``change`` if it exists, is older and has the same owner (both paths of ``upsert_plan``)."""
    return _FORWARD, [
        {
            "f_session_id": change.session_id,
            "f_platform_id": change.platform_id,
            "f_merchant_id": change.merchant_id,
            "f_status": change.status,
            "f_version": change.version,
            "f_occurred_at": change.occurred_at,
            "f_checkout_id": change.merchant_checkout_id or None,
            "f_order_id": change.order_id or None,
        }
    ]


def _forward_statement() -> Executable:
    columns = sessions.c
    occurred_at = bindparam("f_occurred_at", type_=columns.updated_at.type)
    return (
        update(sessions)
        .where(
            columns.session_id == bindparam("f_session_id"),
            columns.version < bindparam("f_version"),
            columns.platform_id == bindparam("f_platform_id"),
            columns.merchant_id == bindparam("f_merchant_id"),
        )
        .values(
            status=bindparam("f_status"),
            version=bindparam("f_version"),
            updated_at=case((columns.updated_at > occurred_at, columns.updated_at), else_=occurred_at),
            # A missing (or empty) id keeps the stored one.
            merchant_checkout_id=func.coalesce(bindparam("f_checkout_id"), columns.merchant_checkout_id),
            order_id=func.coalesce(bindparam("f_order_id"), columns.order_id),
        )
        .returning(*columns)
    )


_FORWARD: Final = _forward_statement()


def _session_row(session_id: str) -> Plan[Any]:
    return (yield _SESSION_ROW, [{"s_session_id": session_id}]).one()


async def write_batch(
    connection: AsyncConnection,
    redactor: Redactor,
    items: Sequence[BatchItem],
    *,
    sqlite: bool,
    keep_stored: bool = False,
    adopt_orphans: bool = False,
) -> list[AuditEvent]:
    """Write ``items`` in order inside ``connection``'s transaction; return the audit events as stored.

    Audit events must have explicit, consecutive ``seq`` numbers per session
    (the workflow numbers them); index rows are upserted where they stand.
    With ``adopt_orphans`` the events may be stored further on (``storage/orphans.py``): the last one
    returned is the batch's last event, at its position in the chain.
    """
    plan = batch_plan(redactor, items, sqlite=sqlite, keep_stored=keep_stored, adopt_orphans=adopt_orphans)
    return await run_async(connection, plan)


def batch_plan(
    redactor: Redactor,
    items: Sequence[BatchItem],
    *,
    sqlite: bool,
    keep_stored: bool = False,
    adopt_orphans: bool = False,
) -> Plan[list[AuditEvent]]:
    """:func:`write_batch` as a plan (for :func:`run_async` or :func:`run_sync`)."""
    events = [item for item in items if isinstance(item, NewAuditEvent)]
    documents = [document(event, _seq(event), redactor.redact(event.payload)) for event in events]
    # Refuse what cannot be hashed before touching the database; the bytes are the ones each hash is over.
    canonical_of = {id(offered): canonical_json(offered) for offered in documents}
    stored = yield from _stored(events)
    kept = _kept(documents, stored) if keep_stored and events else None
    if kept is not None:
        yield from _upsert_all(items, sqlite=sqlite)
        return [AuditEvent.model_validate(row, from_attributes=True) for row in kept]
    if adopt_orphans and events:
        moved = yield from adopted(items, documents, stored)
        if moved is not None:  # written after the orphaned tail, by the ordinary rules
            return (yield from batch_plan(redactor, moved, sqlite=sqlite, keep_stored=keep_stored))
    # The chain is computed in memory in the batch's order; the new rows then go in as one INSERT (issue 13:
    # one statement per event was most of a batch's cost). Same rows, same transaction, same order of ids.
    written: list[AuditEvent | dict[str, Any]] = []
    previous: dict[str, tuple[int, str]] = {}  # session -> (seq, hash) of the last event of this batch
    document_of = dict(zip((id(event) for event in events), documents, strict=True))
    for item in items:
        if isinstance(item, SessionUpsert):
            yield from upsert_plan(item, sqlite=sqlite)
            continue
        seq, offered = _seq(item), document_of[id(item)]
        existing = stored.get((item.session_id, seq))
        if existing is not None:
            same = same_or_conflict(existing, offered)
            previous[item.session_id] = (seq, same.hash)
            written.append(same)
        else:
            row = event_row(offered, _prev_hash(item, seq, previous, stored), canonical_of[id(offered)])
            previous[item.session_id] = (seq, row["hash"])
            written.append(row)
    inserted = iter((yield from insert_rows([row for row in written if isinstance(row, dict)])))
    return [next(inserted) if isinstance(row, dict) else row for row in written]


def _kept(documents: Sequence[dict[str, Any]], stored: dict[tuple[str, int], Any]) -> list[Any] | None:
    """``keep_stored``: the stored rows, when every position already holds the same *call* as offered.

    The same call is the same action with the same request digest and the same outbound
    ``merchant_idempotency_key`` (a re-sent merchant call, whose answer may differ a little); another
    call at those positions (a lost operation's rows, then another operation) is not this batch's record.
    """
    rows = []
    for offered in documents:
        row = stored.get((offered["session_id"], offered["seq"]))
        if row is None or _call(row_event(row)) != _call(offered):
            return None
        rows.append(row)
    return rows


def _call(event: dict[str, Any]) -> tuple[Any, ...]:
    payload = event.get("payload")
    key = payload.get("merchant_idempotency_key") if isinstance(payload, dict) else None
    return event["action"], event.get("request_digest"), key


def _upsert_all(items: Sequence[BatchItem], *, sqlite: bool) -> Plan[None]:
    for item in items:
        if isinstance(item, SessionUpsert):
            yield from upsert_plan(item, sqlite=sqlite)


def _seq(event: NewAuditEvent) -> int:
    if event.seq is None:
        raise ValueError("a batch writes events at explicit positions: give every event its seq")
    return event.seq


def _stored(events: Sequence[NewAuditEvent]) -> Plan[dict[tuple[str, int], Any]]:
    """The stored rows of the batch's range per session, and each range's predecessor: one SELECT per session."""
    ranges: dict[str, tuple[int, int]] = {}
    for event in events:
        low, high = ranges.get(event.session_id, (_seq(event), _seq(event)))
        ranges[event.session_id] = (min(low, _seq(event)), max(high, _seq(event)))
    stored: dict[tuple[str, int], Any] = {}
    for session_id, (low, high) in ranges.items():
        rows = yield _RANGE, [{"r_session_id": session_id, "r_low": max(1, low - 1), "r_high": high}]
        stored.update({(row.session_id, row.seq): row for row in rows})
    return stored


_RANGE: Final = select(audit_events).where(
    audit_events.c.session_id == bindparam("r_session_id"),
    audit_events.c.seq >= bindparam("r_low"),
    audit_events.c.seq <= bindparam("r_high"),
)


def _prev_hash(
    event: NewAuditEvent, seq: int, previous: dict[str, tuple[int, str]], stored: dict[tuple[str, int], Any]
) -> str:
    if seq == 1:
        return GENESIS_HASH
    carried = previous.get(event.session_id)
    if carried is not None and carried[0] == seq - 1:
        return carried[1]
    predecessor = stored.get((event.session_id, seq - 1))
    if predecessor is None:
        raise AuditSequenceGapError(event.session_id, seq)
    if predecessor.platform_id != event.platform_id:
        raise conflict(event.session_id, seq, "platform_mismatch")
    return str(predecessor.hash)
