"""Concurrent writers never fork a chain, leave a gap or write an event twice (DESIGN.md invariant 7).

The only arbiter is the database's unique (session_id, seq) key, on
PostgreSQL (many connections) and SQLite (writers queue on the file lock).
"""

from __future__ import annotations

import asyncio
import random

from storage.errors import AuditSequenceGapError
from storage.repository import Repository
from tests.storage.backends import Backend, event, new_session_id

SESSIONS = 12
EVENTS = 8
RETRIED_WRITERS = 3


async def _writer(repo: Repository, session: str, order: list[int], hashes: dict[int, set[str]]) -> None:
    """Writes every event of the session in a random order, like retried activities racing each other."""
    pending = list(order)
    while pending:
        seq = pending.pop(0)
        try:
            stored = await repo.append_audit_event(event(session, seq))
        except AuditSequenceGapError:
            pending.append(seq)  # its predecessor is not written yet: retry later, as Temporal would
            await asyncio.sleep(0)
            continue
        hashes.setdefault(seq, set()).add(stored.hash)


async def test_concurrent_and_retried_writers_produce_valid_chains(fresh_backend: Backend) -> None:
    repo = fresh_backend.repository()
    rng = random.Random(7)
    try:
        sessions = [new_session_id() for _ in range(SESSIONS)]
        seen: dict[str, dict[int, set[str]]] = {session: {} for session in sessions}
        writers = [
            _writer(repo, session, rng.sample(range(1, EVENTS + 1), EVENTS), seen[session])
            for session in sessions
            for _ in range(RETRIED_WRITERS)
        ]
        rng.shuffle(writers)
        await asyncio.gather(*writers)
        report = await repo.verify_chains()
        assert report.ok, report.breaks
        assert (report.sessions, report.events) == (SESSIONS, SESSIONS * EVENTS)  # no duplicates
        for session in sessions:
            page = await repo.list_session_events(session, "platform-a", limit=EVENTS + 1)
            assert [item.seq for item in page.items] == list(range(1, EVENTS + 1))  # no gaps
            # every racing writer got the one stored event back
            assert all(len(hashes) == 1 for hashes in seen[session].values())
    finally:
        await repo.close()


async def test_concurrent_tail_appends_on_one_session_serialise(fresh_backend: Backend) -> None:
    repo = fresh_backend.repository()
    try:
        session = new_session_id()

        async def append_many(count: int) -> list[int]:
            return [(await repo.append_audit_event(event(session, None))).seq for _ in range(count)]

        results = await asyncio.gather(*(append_many(5) for _ in range(8)))
        seqs = sorted(seq for batch in results for seq in batch)
        assert seqs == list(range(1, 41))
        report = await repo.verify_chains(session)
        assert report.ok and report.events == 40
    finally:
        await repo.close()
