"""Migrations upgrade from empty, downgrade cleanly, and match the models (``alembic check``)."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect, text
from typer.testing import CliRunner

from storage import migrate
from tests.storage.backends import Backend
from ucp_connector.cli import app

LATEST_REVISION = "0002"


async def _tables(backend: Backend) -> set[str]:
    engine = backend.owner_engine()
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _scalar(backend: Backend, sql: str, **params: object) -> object:
    engine = backend.owner_engine()
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def _triggers(backend: Backend) -> int:
    if backend.kind == "postgres":
        sql = (
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND NOT t.tgisinternal"
        )
        return int(await _scalar(backend, sql, schema=backend.schema))  # type: ignore[arg-type]
    return int(await _scalar(backend, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"))  # type: ignore[arg-type]


async def test_upgrade_from_empty_then_downgrade_cleanly_twice(empty_backend: Backend) -> None:
    engine = empty_backend.owner_engine()
    try:
        for _ in range(2):
            await migrate.upgrade(engine, service_role=empty_backend.service_role)
            assert await migrate.current_revision(engine) == LATEST_REVISION
            assert {"audit_events", "sessions"} <= await _tables(empty_backend)
            assert await _triggers(empty_backend) == 2
            assert await migrate.schema_drift(engine) == []
            await migrate.downgrade(engine, "base", service_role=empty_backend.service_role)
            assert await migrate.current_revision(engine) is None
            assert await _tables(empty_backend) <= {"alembic_version"}
            assert await _triggers(empty_backend) == 0
            if empty_backend.kind == "postgres":
                role = "SELECT count(*) FROM pg_roles WHERE rolname = :role"
                assert await _scalar(empty_backend, role, role=empty_backend.service_role) == 0
                function = (
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE p.proname = 'ucp_audit_events_append_only' AND n.nspname = :schema"
                )
                assert await _scalar(empty_backend, function, schema=empty_backend.schema) == 0
    finally:
        await engine.dispose()


async def test_models_match_migrations_and_drift_is_detected(fresh_backend: Backend) -> None:
    """``alembic check``: empty diff on a migrated database, and a real difference is reported."""
    engine = fresh_backend.owner_engine()
    try:
        assert await migrate.schema_drift(engine) == []
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DROP INDEX ix_sessions_platform_id_created_at_session_id")
        drift = await migrate.schema_drift(engine)
        assert [entry[0] for entry in drift] == ["add_index"]
    finally:
        await engine.dispose()
    result = await asyncio.to_thread(CliRunner().invoke, app, ["migrate", "--check", *fresh_backend.cli_args()])
    assert result.exit_code == 1 and "add_index" in result.output
    engine = fresh_backend.owner_engine()
    try:
        async with engine.begin() as connection:  # put it back so the fixture's downgrade runs as usual
            await connection.exec_driver_sql(
                "CREATE INDEX ix_sessions_platform_id_created_at_session_id "
                "ON sessions (platform_id, created_at, session_id)"
            )
    finally:
        await engine.dispose()


async def test_migrate_command_upgrades_and_downgrades(empty_backend: Backend) -> None:
    args = [*empty_backend.cli_args(), "--service-role", empty_backend.service_role]
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, ["migrate", *args])
    assert result.exit_code == 0 and f"revision {LATEST_REVISION}" in result.output, result.output
    result = await asyncio.to_thread(runner.invoke, app, ["migrate", "--check", *args])
    assert result.exit_code == 0 and "match" in result.output
    result = await asyncio.to_thread(runner.invoke, app, ["migrate", "base", "--downgrade", *args])
    assert result.exit_code == 0 and "revision base" in result.output, result.output
