"""The session index: upserts that only move forward, and stable, scoped pagination (DESIGN.md invariant 9)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event

from contracts import CursorInvalidError, ErrorCode, UcpError
from storage.errors import AuditConflictError
from storage.repository import Repository
from storage.sessions import SessionFilters, SessionUpsert
from tests.storage.backends import NOW, new_session_id


def change(session: str, **fields: object) -> SessionUpsert:
    values: dict[str, object] = {
        "session_id": session,
        "platform_id": "platform-a",
        "merchant_id": "merchant-1",
        "status": "incomplete",
        "occurred_at": NOW,
        "version": 1,
    }
    values.update(fields)
    return SessionUpsert(**values)


async def test_upsert_creates_then_only_moves_forward(repo: Repository) -> None:
    session = new_session_id()
    created = await repo.upsert_session(change(session, merchant_checkout_id="chk_1"))
    assert (created.status, created.created_at, created.version) == ("incomplete", NOW, 1)
    later = NOW + dt.timedelta(minutes=5)
    moved = await repo.upsert_session(change(session, status="ready_for_complete", occurred_at=later, version=3))
    assert (moved.status, moved.updated_at, moved.created_at) == ("ready_for_complete", later, NOW)
    assert moved.merchant_checkout_id == "chk_1"  # kept when a later write does not name it
    stale = await repo.upsert_session(change(session, status="incomplete", version=2))
    assert stale == moved  # a late or replayed write changes nothing
    assert await repo.get_session(session, "platform-a") == moved
    assert await repo.get_session(session, "platform-b") is None


async def test_a_newer_version_with_an_earlier_clock_keeps_the_later_updated_at(repo: Repository) -> None:
    """The forward write (one UPDATE, issue 13) keeps ``updated_at`` at the later of the two instants and the
    stored merchant ids when the write names none, as the insert-or-read path does."""
    session = new_session_id()
    await repo.upsert_session(change(session, merchant_checkout_id="chk_1", order_id=None))
    later = NOW + dt.timedelta(minutes=5)
    await repo.upsert_session(change(session, status="ready_for_complete", occurred_at=later, version=2))
    earlier = NOW + dt.timedelta(minutes=1)
    moved = await repo.upsert_session(
        change(session, status="completed", occurred_at=earlier, version=3, order_id="o1")
    )
    assert (moved.status, moved.version, moved.updated_at) == ("completed", 3, later)
    assert (moved.merchant_checkout_id, moved.order_id) == ("chk_1", "o1")
    assert await repo.get_session(session, "platform-a") == moved
    unnamed = await repo.upsert_session(change(session, status="completed", version=4, merchant_checkout_id=""))
    assert (unnamed.version, unnamed.merchant_checkout_id, unnamed.order_id) == (4, "chk_1", "o1")  # empty: kept


async def test_moving_a_known_session_forward_is_one_statement(repo: Repository) -> None:
    """Issue 13: the index write of every operation after the create was INSERT, SELECT, UPDATE."""
    session = new_session_id()
    await repo.upsert_session(change(session))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]).split()[0])

    engine = repo.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        moved = await repo.upsert_session(change(session, status="ready_for_complete", version=2))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert moved.status == "ready_for_complete"
    assert [word.upper() for word in statements if word.upper() in {"INSERT", "SELECT", "UPDATE"}] == ["UPDATE"]


async def test_a_session_cannot_change_owner(repo: Repository) -> None:
    session = new_session_id()
    await repo.upsert_session(change(session))
    with pytest.raises(AuditConflictError):
        await repo.upsert_session(change(session, platform_id="platform-b", version=2))
    with pytest.raises(AuditConflictError):
        await repo.upsert_session(change(session, merchant_id="merchant-2", version=2))


async def _page_all(repo: Repository, platform: str, filters: SessionFilters, limit: int, between=None) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = await repo.list_sessions(platform, filters, cursor=cursor, limit=limit)
        seen += [item.session_id for item in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
        if between is not None:
            await between(len(seen))


async def test_inserting_while_paging_gives_no_duplicates_and_no_gaps(repo: Repository) -> None:
    """Invariant 9: order by (created_at, id); rows inserted between pages never shift the cursor."""
    platform = f"p-{uuid.uuid4().hex[:10]}"
    base = NOW + dt.timedelta(days=1)
    existing = []
    for index in range(23):  # groups of three share a created_at: the id breaks ties
        session = new_session_id()
        existing.append(session)
        await repo.upsert_session(
            change(session, platform_id=platform, occurred_at=base + dt.timedelta(seconds=index // 3))
        )
    await repo.upsert_session(change(new_session_id(), platform_id="platform-other", occurred_at=base))
    appended: list[str] = []
    behind: list[str] = []

    async def insert_more(count_seen: int) -> None:
        later, earlier = new_session_id(), new_session_id()
        appended.append(later)
        behind.append(earlier)
        after_everything = base + dt.timedelta(hours=1, seconds=len(appended))  # newer rows come later
        await repo.upsert_session(change(later, platform_id=platform, occurred_at=after_everything))
        await repo.upsert_session(change(earlier, platform_id=platform, occurred_at=base - dt.timedelta(hours=1)))

    seen = await _page_all(repo, platform, SessionFilters(), limit=4, between=insert_more)
    assert len(seen) == len(set(seen)), "duplicates"
    assert [session for session in seen if session in existing] == sorted(
        existing, key=lambda session: (existing.index(session) // 3, session)
    ), "every row that existed is returned once, in (created_at, id) order"
    assert set(appended) <= set(seen), "rows inserted after the cursor position show up"
    assert not set(behind) & set(seen), "rows inserted behind the cursor do not reappear"


async def test_filters_by_status_and_merchant(repo: Repository) -> None:
    platform = f"p-{uuid.uuid4().hex[:10]}"
    rows = {
        new_session_id(): ("merchant-1", "incomplete"),
        new_session_id(): ("merchant-1", "completed"),
        new_session_id(): ("merchant-2", "completed"),
    }
    for session, (merchant, status) in rows.items():
        await repo.upsert_session(change(session, platform_id=platform, merchant_id=merchant, status=status))
    completed = await _page_all(repo, platform, SessionFilters(status="completed"), limit=1)
    assert set(completed) == {s for s, (_, status) in rows.items() if status == "completed"}
    both = await _page_all(repo, platform, SessionFilters(status="completed", merchant_id="merchant-2"), limit=5)
    assert both == [s for s, row in rows.items() if row == ("merchant-2", "completed")]


async def test_tampered_or_foreign_cursors_are_cursor_invalid(repo: Repository) -> None:
    """Invariant 9: a forged cursor, or one issued for another platform, listing or filter, is refused."""
    platform = f"p-{uuid.uuid4().hex[:10]}"
    for _ in range(3):
        await repo.upsert_session(change(new_session_id(), platform_id=platform))
    cursor = (await repo.list_sessions(platform, limit=1)).next_cursor
    assert cursor is not None
    payload, mac = cursor.split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    attempts = [
        ("bad_mac", lambda: repo.list_sessions(platform, cursor=forged)),
        ("malformed", lambda: repo.list_sessions(platform, cursor="not-a-cursor")),
        ("foreign", lambda: repo.list_sessions("platform-b", cursor=cursor)),
        ("foreign", lambda: repo.list_sessions(platform, SessionFilters(status="completed"), cursor=cursor)),
        ("foreign", lambda: repo.list_session_events(new_session_id(), platform, cursor=cursor)),
    ]
    for reason, attempt in attempts:
        with pytest.raises(CursorInvalidError) as caught:
            await attempt()
        assert caught.value.code is ErrorCode.CURSOR_INVALID and caught.value.http_status == 400
        assert caught.value.reason == reason


async def test_limit_out_of_range_is_validation_failed(repo: Repository) -> None:
    for limit in (0, 201):
        with pytest.raises(UcpError) as caught:
            await repo.list_sessions("platform-a", limit=limit)
        assert caught.value.code is ErrorCode.VALIDATION_FAILED


async def test_sessions_are_found_by_merchant_ids_only_within_that_merchant(repo: Repository) -> None:
    """ORD-21: a merchant's webhook or order id resolves only to that merchant's session."""
    session = new_session_id()
    checkout_id, order_id = f"chk_{uuid.uuid4().hex}", f"ord_{uuid.uuid4().hex}"
    await repo.upsert_session(change(session, merchant_checkout_id=checkout_id))
    assert (await repo.find_session_by_merchant_ids("merchant-1", order_id=order_id)) is None
    await repo.upsert_session(change(session, status="completed", order_id=order_id, version=2))
    by_checkout = await repo.find_session_by_merchant_ids("merchant-1", merchant_checkout_id=checkout_id)
    by_order = await repo.find_session_by_merchant_ids("merchant-1", order_id=order_id)
    assert by_checkout is not None and by_order is not None
    assert by_checkout.session_id == by_order.session_id == session and by_order.order_id == order_id
    assert await repo.find_session_by_merchant_ids("merchant-2", order_id=order_id) is None
    with pytest.raises(ValueError, match="exactly one"):
        await repo.find_session_by_merchant_ids("merchant-1")
