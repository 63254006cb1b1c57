"""The per-session hash chain and idempotent writes (DESIGN.md invariant 7).

Runs on PostgreSQL (as the append-only service role) and SQLite.
"""

from __future__ import annotations

import hashlib
import math

import pytest
import rfc8785
from pydantic import ValidationError
from structlog.testing import capture_logs

from contracts import CursorInvalidError, ErrorCode, MalformedInputError, content_digest
from storage.audit import GENESIS_HASH, AuditOutcome
from storage.errors import AuditConflictError, AuditSequenceGapError
from storage.repository import Repository
from tests.storage.backends import NOW, event, new_session_id


async def test_hash_is_sha256_of_prev_hash_and_jcs_of_the_documented_event(repo: Repository) -> None:
    """Invariant 7: hash = sha256(prev_hash || JCS(event)), recomputed here without the storage code."""
    session = new_session_id()
    body = b'{"line_items":[]}'
    stored = [
        await repo.append_audit_event(
            event(session, seq, request_digest=content_digest(body), error_code=ErrorCode.OUT_OF_STOCK)
        )
        for seq in (1, 2, 3)
    ]
    prev = GENESIS_HASH
    for row in stored:
        document = {
            "v": 1,
            "platform_id": "platform-a",
            "session_id": session,
            "seq": row.seq,
            "occurred_at": row.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": "platform:platform-a",
            "action": "checkout.update",
            "outcome": "accepted",
            "error_code": "out_of_stock",
            "request_digest": content_digest(body),
            "response_digest": None,
            "payload": {"line_items": [{"item": {"id": "item_1"}, "quantity": row.seq}]},
        }
        assert row.prev_hash == prev
        assert row.hash == hashlib.sha256(prev.encode() + rfc8785.dumps(document)).hexdigest()
        prev = row.hash
    assert (await repo.verify_chains(session)).ok


async def test_retried_write_of_the_same_event_is_a_no_op(repo: Repository) -> None:
    """Invariant 7: writes are idempotent on (session, seq) -- a retried activity changes nothing."""
    session = new_session_id()
    first = await repo.append_audit_event(event(session, 1))
    again = await repo.append_audit_event(event(session, 1))
    assert again == first
    page = await repo.list_session_events(session, "platform-a")
    assert [item.id for item in page.items] == [first.id]


async def test_a_different_event_at_a_taken_seq_is_refused_logged_and_not_stored(repo: Repository) -> None:
    """Invariant 7: a different event at the same (session, seq) is an error, alerted, never accepted."""
    session = new_session_id()
    original = await repo.append_audit_event(event(session, 1))
    with capture_logs() as logs, pytest.raises(AuditConflictError) as caught:
        await repo.append_audit_event(event(session, 1, outcome=AuditOutcome.REJECTED))
    assert caught.value.code is ErrorCode.AUDIT_CONFLICT and not caught.value.retryable
    assert caught.value.detail["reason"] == "different_event"
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == ["audit_conflict"]
    assert logs[0]["stored_hash"] == original.hash and logs[0]["alert"] is True
    page = await repo.list_session_events(session, "platform-a")
    assert page.items == [original]


async def test_an_event_before_its_predecessor_is_a_retryable_gap(repo: Repository) -> None:
    """Explicit seq n+1 before n: retryable (the writer of n is still in flight), nothing stored."""
    session = new_session_id()
    await repo.append_audit_event(event(session, 1))
    with pytest.raises(AuditSequenceGapError) as caught:
        await repo.append_audit_event(event(session, 3))
    assert caught.value.retryable and caught.value.http_status == 503
    assert caught.value.code is ErrorCode.SERVICE_UNAVAILABLE
    await repo.append_audit_event(event(session, 2))
    await repo.append_audit_event(event(session, 3))
    assert (await repo.verify_chains(session)).events == 3


async def test_a_session_cannot_change_platform(repo: Repository) -> None:
    session = new_session_id()
    await repo.append_audit_event(event(session, 1, platform_id="platform-a"))
    with pytest.raises(AuditConflictError) as explicit:
        await repo.append_audit_event(event(session, 2, platform_id="platform-b"))
    with pytest.raises(AuditConflictError) as tail:
        await repo.append_audit_event(event(session, None, platform_id="platform-b"))
    assert explicit.value.detail["reason"] == tail.value.detail["reason"] == "platform_mismatch"


async def test_tail_append_continues_the_chain(repo: Repository) -> None:
    session = new_session_id()
    rows = [await repo.append_audit_event(event(session, None)) for _ in range(3)]
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert (await repo.verify_chains(session)).ok


async def test_unhashable_payload_is_refused_before_anything_is_written(repo: Repository) -> None:
    session = new_session_id()
    with pytest.raises(MalformedInputError):
        await repo.append_audit_event(event(session, 1, payload={"amount": math.nan}))
    assert (await repo.list_session_events(session, "platform-a")).items == []


def test_event_shape_is_strict() -> None:
    """Naive timestamps, unknown fields and malformed digests are programming errors, refused up front."""
    with pytest.raises(ValidationError):
        event("cs_x", 1, occurred_at=NOW.replace(tzinfo=None))
    with pytest.raises(ValidationError):
        event("cs_x", 1, request_digest="sha-256=abc")
    with pytest.raises(ValidationError):
        event("cs_x", 0)
    with pytest.raises(ValidationError):
        event("cs_x", 1, unknown="x")


async def test_session_events_page_by_seq_and_stay_inside_their_scope(repo: Repository) -> None:
    """Invariant 9: events of a session by seq, stable cursor, scoped to platform and session."""
    session = new_session_id()
    for seq in range(1, 6):
        await repo.append_audit_event(event(session, seq))
    seen: list[int] = []
    cursor = None
    while True:
        page = await repo.list_session_events(session, "platform-a", cursor=cursor, limit=2)
        seen += [item.seq for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        if len(seen) == 2:  # an event appended while paging shows up at the end, once
            await repo.append_audit_event(event(session, 6))
    assert seen == [1, 2, 3, 4, 5, 6]
    assert (await repo.list_session_events(session, "platform-b")).items == []
    first = await repo.list_session_events(session, "platform-a", limit=1)
    assert first.next_cursor is not None
    for platform, other_session in (("platform-b", session), ("platform-a", new_session_id())):
        with pytest.raises(CursorInvalidError) as caught:
            await repo.list_session_events(other_session, platform, cursor=first.next_cursor)
        assert caught.value.code is ErrorCode.CURSOR_INVALID and caught.value.reason == "foreign"
    assert first.items[0].to_api_dict()["occurred_at"].endswith("Z")
