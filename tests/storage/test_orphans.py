"""Orphaned audit rows are adopted, never overwritten and never a stuck outbox (``storage/orphans.py``).

The chaos run's state: an operation's local activity stored its records (merchant call, index row,
status change, the platform's answer) and Temporal lost the workflow task, so the workflow offers those
positions again with other events. DESIGN.md invariant 7 (append-only, hash-linked, nothing
overwritten), invariant "nothing lost" (the session's outbox must drain). Runs on PostgreSQL (as the
append-only service role) and SQLite. On the code before, every adoption below was ``AuditConflictError``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from structlog.testing import capture_logs

from storage.audit import AuditOutcome, NewAuditEvent
from storage.errors import AuditConflictError
from storage.orphans import ORPHANS_ADOPTED
from storage.repository import Repository
from tests.storage.backends import NOW, event, new_session_id


async def _with_orphans(repo: Repository, session: str) -> list[int]:
    """Seqs 1-2 the workflow knows of, 3-5 a lost operation's local activity stored (``keep_stored``)."""
    await repo.write_batch([event(session, 1), event(session, 2)])
    orphans = [event(session, seq, action=action) for seq, action in ((3, "merchant.complete_checkout"),)]
    orphans += [event(session, 4, action="status_changed"), event(session, 5, action="complete")]
    stored = await repo.write_batch(orphans, keep_stored=True)
    return [row.seq for row in stored]


def _webhook(session: str, seq: int, **changes: Any) -> NewAuditEvent:
    later = NOW + dt.timedelta(minutes=5, seconds=seq)  # decided after the lost task (workflow time runs forward)
    fields: dict[str, Any] = {"action": "order_event", "actor": "merchant:shop", "occurred_at": later}
    return event(session, seq, **{**fields, **changes})


async def test_an_outbox_batch_goes_after_an_orphaned_tail_which_stays_as_stored(repo: Repository) -> None:
    """Invariant 7: the orphans keep their rows and hashes; one adoption event says so; the batch follows it."""
    session = new_session_id()
    assert await _with_orphans(repo, session) == [3, 4, 5]
    before = (await repo.list_session_events(session, "platform-a")).items
    batch = [_webhook(session, 3), _webhook(session, 4, action="status_changed")]
    with capture_logs() as logs:
        written = await repo.write_batch(batch, adopt_orphans=True)
    assert [(row.seq, row.action) for row in written] == [
        (6, ORPHANS_ADOPTED),
        (7, "order_event"),
        (8, "status_changed"),
    ]
    assert written[0].payload == {
        "first_seq": 3,
        "last_seq": 5,
        "actions": ["merchant.complete_checkout", "status_changed", "complete"],
    }
    assert written[0].prev_hash == before[-1].hash and written[1].prev_hash == written[0].hash
    after = (await repo.list_session_events(session, "platform-a")).items
    assert after[:5] == before  # nothing overwritten
    assert (await repo.verify_chains(session)).ok
    [warning] = [entry for entry in logs if entry["event"] == ORPHANS_ADOPTED]
    assert warning["log_level"] == "warning" and warning["alert"] is True and warning["first_seq"] == 3


async def test_a_retried_adoption_writes_nothing_twice_and_the_chain_goes_on(repo: Repository) -> None:
    """A write_batch retried after it committed (its answer lost) answers the same rows; the next batch, numbered
    after the shift, continues the chain as usual."""
    session = new_session_id()
    await _with_orphans(repo, session)
    batch = [_webhook(session, 3), _webhook(session, 4, action="status_changed")]
    first = await repo.write_batch(batch, adopt_orphans=True)
    assert await repo.write_batch(batch, adopt_orphans=True) == first
    following = await repo.write_batch([_webhook(session, 9, action="platform_notification")], adopt_orphans=True)
    assert [row.seq for row in following] == [9]
    rows = (await repo.list_session_events(session, "platform-a")).items
    assert [row.seq for row in rows] == list(range(1, 10))
    assert [row.action for row in rows].count(ORPHANS_ADOPTED) == 1
    assert (await repo.verify_chains(session)).ok


async def test_a_batch_whose_leading_events_are_stored_adopts_the_tail_after_them(repo: Repository) -> None:
    """The lost activity wrote the queued prelude too: the outbox's retry of it matches row for row, and the
    first event that finds another one at its position is where the orphaned tail begins."""
    session = new_session_id()
    await repo.write_batch([event(session, 1)])
    await repo.write_batch(
        [event(session, 2), event(session, 3, action="merchant.complete_checkout")], keep_stored=True
    )
    written = await repo.write_batch([event(session, 2), _webhook(session, 3)], adopt_orphans=True)
    assert [(row.seq, row.action) for row in written] == [
        (2, "checkout.update"),
        (4, ORPHANS_ADOPTED),
        (5, "order_event"),
    ]
    assert written[1].payload == {"first_seq": 3, "last_seq": 3, "actions": ["merchant.complete_checkout"]}
    assert (await repo.verify_chains(session)).ok


async def test_a_genuine_conflict_is_refused_also_for_the_outbox(repo: Repository) -> None:
    """Not every difference is an orphan: rows decided after the event offered in their place (no lost task
    can have left them), another platform's rows, a retried adoption whose batch differs from the one it
    stored: ``AuditConflictError`` as ever, nothing written. And only the outbox and an operation's local
    activity adopt: without ``adopt_orphans`` (every other writer) an orphaned tail is a conflict."""
    session = new_session_id()
    await _with_orphans(repo, session)
    stored = (await repo.list_session_events(session, "platform-a")).items
    with pytest.raises(AuditConflictError):
        await repo.write_batch([_webhook(session, 3)], keep_stored=True)
    earlier = [event(session, 3, action="order_event", occurred_at=NOW)]  # before the tail's rows were decided
    with pytest.raises(AuditConflictError):
        await repo.write_batch(earlier, adopt_orphans=True)
    assert (await repo.list_session_events(session, "platform-a")).items == stored
    await repo.write_batch([_webhook(session, 3)], adopt_orphans=True)
    with pytest.raises(AuditConflictError):  # the same write again, but another event than it stored
        await repo.write_batch([_webhook(session, 3, outcome=AuditOutcome.REJECTED)], adopt_orphans=True)
    stored = (await repo.list_session_events(session, "platform-a")).items
    with pytest.raises(AuditConflictError):  # numbered behind the adoption: its batch is the workflow's own rows
        await repo.write_batch([_webhook(session, 4, action="platform_notification")], adopt_orphans=True)
    assert (await repo.list_session_events(session, "platform-a")).items == stored
    other = new_session_id()
    await repo.write_batch([event(other, seq, platform_id="platform-b") for seq in (1, 2)])
    with pytest.raises(AuditConflictError):
        await repo.write_batch([_webhook(other, 2)], adopt_orphans=True)
    assert len((await repo.list_session_events(other, "platform-b")).items) == 2


async def test_an_operation_after_a_lost_one_is_recorded_after_its_rows_not_as_them(repo: Repository) -> None:
    """Issue 13 (local activity): the lost operation's rows (seqs 3-5) and another operation's records offered
    at the same positions with ``keep_stored`` and ``adopt_orphans``, as ``merchant_operation`` writes them.
    Another call (another outbound key) is not a retry: before, the same first action kept the lost rows as
    the new operation's record, so its merchant call was never written. Now it is adopted after them; a retry
    of the lost call itself is still kept as stored (nothing twice)."""
    session = new_session_id()
    lost_key = {"merchant_idempotency_key": "out-2", "http_status": 200}
    await repo.write_batch([event(session, 1), event(session, 2)])
    lost = [event(session, 3, action="merchant.update_checkout", payload=lost_key), event(session, 4, action="update")]
    stored = await repo.write_batch(lost, keep_stored=True)
    retry = [event(session, 3, action="merchant.update_checkout", payload={**lost_key, "http_status": 201})]
    retry.append(event(session, 4, action="update"))
    assert await repo.write_batch(retry, keep_stored=True, adopt_orphans=True) == stored

    later = NOW + dt.timedelta(minutes=5)
    other = {"merchant_idempotency_key": "out-3", "http_status": 200}
    offered = [
        event(session, 3, action="merchant.update_checkout", payload=other, occurred_at=later),
        event(session, 4, action="update", occurred_at=later),
    ]
    with pytest.raises(AuditConflictError):  # without adoption: a conflict, never the lost rows as its record
        await repo.write_batch(offered, keep_stored=True)
    written = await repo.write_batch(offered, keep_stored=True, adopt_orphans=True)
    assert [(row.seq, row.action) for row in written] == [
        (5, ORPHANS_ADOPTED),
        (6, "merchant.update_checkout"),
        (7, "update"),
    ]
    assert written[1].payload["merchant_idempotency_key"] == "out-3"
    assert await repo.write_batch(offered, keep_stored=True, adopt_orphans=True) == written  # a retry: nothing twice
    trail = (await repo.list_session_events(session, "platform-a")).items
    assert [row.seq for row in trail] == list(range(1, 8))
    assert (await repo.verify_chains(session)).ok
