"""Recompute every hash chain and report the first broken link of each session (DESIGN.md invariant 7).

Rows are read in (session_id, seq) order in keyset batches, each batch its
own short transaction, so a large table is verified in constant memory and
without holding locks; events appended while the check runs are simply
checked or not, never misreported (rows are immutable). Per session the check
walks seq 1, 2, 3 ... and stops at the first of:

* ``missing_event`` -- the next stored seq is not the expected one (an event
  was deleted, or the chain does not start at 1);
* ``prev_hash_mismatch`` -- the event does not name its predecessor's hash
  (events reordered, or a predecessor rewritten);
* ``hash_mismatch`` -- the stored hash is not the hash of the stored event
  (the event was edited);
* ``unreadable`` -- the stored event cannot be canonicalised at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import UcpError
from storage.audit import GENESIS_HASH, chain_hash, row_event
from storage.database import translate_errors
from storage.models import audit_events

BATCH_SIZE: Final = 1000


@dataclass(frozen=True)
class ChainBreak:
    session_id: str
    seq: int
    reason: str
    detail: str
    row_id: int | None = None


@dataclass
class ChainReport:
    sessions: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


async def count_events(engine: AsyncEngine, session_id: str | None = None) -> int:
    query = select(func.count()).select_from(audit_events)
    if session_id is not None:
        query = query.where(audit_events.c.session_id == session_id)
    with translate_errors("count"):
        async with engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())


class _SessionWalk:
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.broken: ChainBreak | None = None

    def check(self, row: Any) -> None:
        if self.broken is not None:
            return
        if row.seq != self.expected_seq:
            self.broken = ChainBreak(
                self.session_id,
                self.expected_seq,
                "missing_event",
                f"expected seq {self.expected_seq}, next stored seq is {row.seq}",
                None,
            )
            return
        if row.prev_hash != self.prev_hash:
            self.broken = ChainBreak(
                self.session_id,
                row.seq,
                "prev_hash_mismatch",
                f"prev_hash {row.prev_hash[:16]}... does not match the hash of seq {row.seq - 1} "
                f"({self.prev_hash[:16]}...)",
                row.id,
            )
            return
        try:
            recomputed = chain_hash(row.prev_hash, row_event(row))
        except (UcpError, TypeError, ValueError) as exc:
            self.broken = ChainBreak(self.session_id, row.seq, "unreadable", type(exc).__name__, row.id)
            return
        if recomputed != row.hash:
            self.broken = ChainBreak(
                self.session_id,
                row.seq,
                "hash_mismatch",
                f"stored hash {row.hash[:16]}... but the event hashes to {recomputed[:16]}...",
                row.id,
            )
            return
        self.expected_seq += 1
        self.prev_hash = row.hash


async def verify_chains(
    engine: AsyncEngine,
    *,
    session_id: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Verify all chains (or one session's); ``progress(n)`` is called after each batch of n rows."""
    report = ChainReport()
    walk: _SessionWalk | None = None
    after: tuple[str, int] | None = None
    columns = audit_events.c
    while True:
        query = select(audit_events).order_by(columns.session_id, columns.seq).limit(batch_size)
        if session_id is not None:
            query = query.where(columns.session_id == session_id)
        if after is not None:
            query = query.where(
                or_(columns.session_id > after[0], and_(columns.session_id == after[0], columns.seq > after[1]))
            )
        with translate_errors("verify"):
            async with engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        for row in rows:
            if walk is None or row.session_id != walk.session_id:
                _finish(walk, report)
                walk = _SessionWalk(row.session_id)
                report.sessions += 1
            walk.check(row)
            report.events += 1
        if progress is not None and rows:
            progress(len(rows))
        if len(rows) < batch_size:
            break
        after = (rows[-1].session_id, rows[-1].seq)
    _finish(walk, report)
    return report


def _finish(walk: _SessionWalk | None, report: ChainReport) -> None:
    if walk is not None and walk.broken is not None:
        report.breaks.append(walk.broken)
