"""Real database backends for the storage tests (see conftest.py) and small event builders."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import CursorCodec, Redactor
from storage import migrate
from storage.audit import AuditOutcome, NewAuditEvent
from storage.database import make_engine
from storage.repository import Repository

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
TEST_SALT = b"tests-only-redaction-salt-000000"
TEST_CURSOR_SECRET = b"tests-only-cursor-secret-0000000"
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count(1)

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def require_postgres() -> None:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=2).close()
    except OSError:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}"
        if os.environ.get("UCP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message} and UCP_REQUIRE_POSTGRES=1")
        pytest.skip(message)


@dataclass
class Backend:
    kind: str
    owner_url: str
    service_url: str
    schema: str | None
    service_role: str

    def owner_engine(self) -> AsyncEngine:
        """Superuser (PostgreSQL) / file owner (SQLite): what an operator or an attacker with DB access has."""
        return make_engine(self.owner_url, schema=self.schema)

    def service_engine(self, **options: Any) -> AsyncEngine:
        return make_engine(self.service_url, schema=self.schema, **options)

    def repository(self, **options: Any) -> Repository:
        return Repository(
            self.service_engine(**options), redactor=Redactor(TEST_SALT), cursors=CursorCodec(TEST_CURSOR_SECRET)
        )

    def cli_args(self) -> list[str]:
        return ["--database-url", self.owner_url, *(["--schema", self.schema] if self.schema else [])]


async def create_backend(kind: str, directory: Path, *, migrated: bool = True) -> Backend:
    number = next(_counter)
    role = f"ucp_svc_{RUN_ID}_{number}"
    if kind == "sqlite":
        url = f"sqlite:///{directory / f'audit-{number}.db'}"
        backend = Backend(kind, url, url, None, role)
    else:
        require_postgres()
        schema = f"ucp_test_{RUN_ID}_{number}"
        admin = make_engine(PG_ADMIN_URL)
        try:
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        finally:
            await admin.dispose()
        service_url = f"postgresql://{role}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        backend = Backend(kind, PG_ADMIN_URL, service_url, schema, role)
    if migrated:
        owner = backend.owner_engine()
        try:
            await migrate.upgrade(owner, service_role=role)
        finally:
            await owner.dispose()
    return backend


async def destroy_backend(backend: Backend, *, downgrade: bool = True) -> None:
    owner = backend.owner_engine()
    try:
        if downgrade and await migrate.current_revision(owner) is not None:
            await migrate.downgrade(owner, "base", service_role=backend.service_role)
        if backend.kind == "postgres":
            async with owner.begin() as connection:
                await connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {backend.schema} CASCADE")
                await connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{backend.service_role}"')
    finally:
        await owner.dispose()


def new_session_id() -> str:
    return "cs_" + uuid.uuid4().hex[:26]


NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def event(session_id: str, seq: int | None, *, platform_id: str = "platform-a", **changes: Any) -> NewAuditEvent:
    """A plausible audit event; ``changes`` override any field."""
    fields: dict[str, Any] = {
        "platform_id": platform_id,
        "session_id": session_id,
        "seq": seq,
        "occurred_at": NOW + dt.timedelta(seconds=seq or 0),
        "actor": f"platform:{platform_id}",
        "action": "checkout.update",
        "outcome": AuditOutcome.ACCEPTED,
        "payload": {"line_items": [{"item": {"id": "item_1"}, "quantity": seq or 1}]},
    }
    fields.update(changes)
    return NewAuditEvent(**fields)
