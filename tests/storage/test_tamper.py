"""Tampering with stored audit rows is caught by `audit verify` at exactly the tampered event (invariant 7).

Rows are changed the way an attacker with database access would: as the
PostgreSQL superuser with triggers switched off for the transaction
(``session_replication_role = replica``), or on SQLite after dropping the
append-only triggers. The service role itself cannot change rows at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from contracts import canonical_json
from storage.audit import chain_hash, hashed_event
from storage.verify import ChainBreak
from tests.storage.backends import BACKENDS, Backend, event, new_session_id
from ucp_connector.cli import app

EVENTS = 5


@pytest.fixture
async def two_sessions(fresh_backend: Backend) -> tuple[str, str]:
    repository = fresh_backend.repository()
    victim, bystander = new_session_id(), new_session_id()
    for session in (victim, bystander):
        for seq in range(1, EVENTS + 1):
            await repository.append_audit_event(event(session, seq))
    await repository.close()
    return victim, bystander


async def tamper(backend: Backend, statements: Callable[[AsyncConnection], object]) -> None:
    engine = backend.owner_engine()
    try:
        async with engine.begin() as connection:
            if backend.kind == "postgres":
                await connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                await connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
                await connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
            await statements(connection)  # type: ignore[misc]
    finally:
        await engine.dispose()


async def run_verify(backend: Backend, *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["audit", "verify", *backend.cli_args(), *args])
    return result.exit_code, result.output


async def breaks_of(backend: Backend) -> list[ChainBreak]:
    repository = backend.repository()
    try:
        return (await repository.verify_chains()).breaks
    finally:
        await repository.close()


async def test_intact_chains_verify_with_exit_code_zero(fresh_backend: Backend, two_sessions: tuple[str, str]) -> None:
    code, output = await run_verify(fresh_backend)
    assert code == 0, output
    assert "10 events in 2 sessions" in output


async def test_edited_event_breaks_at_that_event(fresh_backend: Backend, two_sessions: tuple[str, str]) -> None:
    victim, bystander = two_sessions

    async def edit(connection: AsyncConnection) -> None:
        await connection.execute(
            text("UPDATE audit_events SET outcome = 'rejected' WHERE session_id = :s AND seq = 3"), {"s": victim}
        )

    await tamper(fresh_backend, edit)
    [broken] = await breaks_of(fresh_backend)
    assert (broken.session_id, broken.seq, broken.reason) == (victim, 3, "hash_mismatch")
    code, output = await run_verify(fresh_backend)
    assert code == 1 and victim in output and "hash_mismatch" in output and bystander not in output
    code, _ = await run_verify(fresh_backend, "--session", bystander)
    assert code == 0


async def test_edited_payload_breaks_at_that_event(fresh_backend: Backend, two_sessions: tuple[str, str]) -> None:
    victim, _ = two_sessions

    async def edit(connection: AsyncConnection) -> None:
        await connection.execute(
            text("UPDATE audit_events SET payload = :p WHERE session_id = :s AND seq = 2"),
            {"s": victim, "p": '{"line_items": []}'},
        )

    await tamper(fresh_backend, edit)
    [broken] = await breaks_of(fresh_backend)
    assert (broken.seq, broken.reason) == (2, "hash_mismatch")


async def test_edited_and_rehashed_event_breaks_at_the_next_event(
    fresh_backend: Backend, two_sessions: tuple[str, str]
) -> None:
    """A forger who also recomputes the edited row's hash is caught where the chain no longer links."""
    victim, _ = two_sessions

    async def forge(connection: AsyncConnection) -> None:
        row = (
            await connection.execute(
                text("SELECT * FROM audit_events WHERE session_id = :s AND seq = 3"), {"s": victim}
            )
        ).one()
        document = hashed_event(
            platform_id=row.platform_id,
            session_id=row.session_id,
            seq=3,
            occurred_at=(await _occurred_at(connection, victim, 3)),
            actor=row.actor,
            action=row.action,
            outcome="rejected",
            error_code=row.error_code,
            request_digest=row.request_digest,
            response_digest=row.response_digest,
            payload={"line_items": [{"item": {"id": "item_1"}, "quantity": 3}]},
        )
        canonical_json(document)
        await connection.execute(
            text("UPDATE audit_events SET outcome = 'rejected', hash = :h WHERE session_id = :s AND seq = 3"),
            {"s": victim, "h": chain_hash(row.prev_hash, document)},
        )

    await tamper(fresh_backend, forge)
    [broken] = await breaks_of(fresh_backend)
    assert (broken.seq, broken.reason) == (4, "prev_hash_mismatch")


async def _occurred_at(connection: AsyncConnection, session: str, seq: int) -> str:
    from storage.audit import format_timestamp
    from storage.models import audit_events

    row = (
        await connection.execute(
            audit_events.select().where(audit_events.c.session_id == session, audit_events.c.seq == seq)
        )
    ).one()
    return format_timestamp(row.occurred_at)


async def test_deleted_event_breaks_at_that_event(fresh_backend: Backend, two_sessions: tuple[str, str]) -> None:
    victim, _ = two_sessions

    async def delete(connection: AsyncConnection) -> None:
        await connection.execute(text("DELETE FROM audit_events WHERE session_id = :s AND seq = 3"), {"s": victim})

    await tamper(fresh_backend, delete)
    [broken] = await breaks_of(fresh_backend)
    assert (broken.session_id, broken.seq, broken.reason) == (victim, 3, "missing_event")
    code, output = await run_verify(fresh_backend, "--session", victim)
    assert code == 1 and "missing_event" in output


async def test_reordered_events_break_at_the_first_moved_event(
    fresh_backend: Backend, two_sessions: tuple[str, str]
) -> None:
    victim, _ = two_sessions

    async def swap(connection: AsyncConnection) -> None:
        for statement in (
            "UPDATE audit_events SET seq = seq + 1000 WHERE session_id = :s AND seq IN (2, 3)",
            "UPDATE audit_events SET seq = 3 WHERE session_id = :s AND seq = 1002",
            "UPDATE audit_events SET seq = 2 WHERE session_id = :s AND seq = 1003",
        ):
            await connection.execute(text(statement), {"s": victim})

    await tamper(fresh_backend, swap)
    [broken] = await breaks_of(fresh_backend)
    assert (broken.session_id, broken.seq) == (victim, 2)
    assert broken.reason in {"prev_hash_mismatch", "hash_mismatch"}


async def test_append_only_triggers_stop_even_the_owner(fresh_backend: Backend, two_sessions: tuple[str, str]) -> None:
    """Without deliberately disabling them, UPDATE and DELETE are refused for every role."""
    victim, _ = two_sessions
    engine = fresh_backend.owner_engine()
    try:
        for statement in ("UPDATE audit_events SET actor = 'x' WHERE session_id = :s", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement), {"s": victim})
    finally:
        await engine.dispose()
    assert await breaks_of(fresh_backend) == []


@pytest.mark.parametrize("fresh_backend", [BACKENDS[1]], indirect=True)
async def test_service_role_cannot_update_delete_truncate_or_disable_triggers(
    fresh_backend: Backend, two_sessions: tuple[str, str]
) -> None:
    """Invariant 7: the role the service connects as has INSERT/SELECT only on audit_events."""
    victim, _ = two_sessions
    engine = fresh_backend.service_engine()
    try:
        for statement in (
            "UPDATE audit_events SET actor = 'x' WHERE session_id = :s",
            "DELETE FROM audit_events WHERE session_id = :s",
            "TRUNCATE audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
            "DROP TABLE audit_events",
            "DELETE FROM sessions WHERE session_id = :s",
        ):
            with pytest.raises(DBAPIError) as caught:
                async with engine.begin() as connection:
                    await connection.execute(text(statement), {"s": victim})
            assert getattr(caught.value.orig, "sqlstate", None) == "42501", statement  # insufficient_privilege
            assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value)
    finally:
        await engine.dispose()
    assert await breaks_of(fresh_backend) == []
