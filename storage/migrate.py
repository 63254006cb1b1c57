"""Run the Alembic migrations shipped in ``storage/migrations`` (``ucp-connector migrate``).

Alembic runs on the caller's async engine through ``run_sync`` (Alembic
cookbook, "Programmatic API use (connection sharing) With Asyncio"), so the
same code serves the CLI, the dev stack and the tests, inside a running event
loop or not. Migrations run as the schema *owner*; the service itself
connects as the role the first migration creates (storage/README.md).

:func:`schema_drift` is ``alembic check``: it compares the models with the
migrated database and returns the differences (empty when they match).
"""

from __future__ import annotations

from typing import Any, Final

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import DEFAULT_SERVICE_ROLE
from storage.database import translate_errors, validate_identifier, write_transaction
from storage.models import metadata

SCRIPT_LOCATION: Final = "storage:migrations"
HEAD: Final = "head"


def alembic_config(*, service_role: str = DEFAULT_SERVICE_ROLE) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["service_role"] = validate_identifier(service_role, "service role")
    return config


async def _run(engine: AsyncEngine, operation: str, action: Any) -> None:
    with translate_errors(operation):
        async with write_transaction(engine) as connection:
            await connection.run_sync(action)


async def upgrade(engine: AsyncEngine, revision: str = HEAD, *, service_role: str = DEFAULT_SERVICE_ROLE) -> None:
    config = alembic_config(service_role=service_role)

    def action(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await _run(engine, "migrate", action)


async def downgrade(engine: AsyncEngine, revision: str, *, service_role: str = DEFAULT_SERVICE_ROLE) -> None:
    config = alembic_config(service_role=service_role)

    def action(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await _run(engine, "migrate", action)


async def current_revision(engine: AsyncEngine) -> str | None:
    with translate_errors("migrate"):
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """Differences between the models and the database (``alembic check``); ``[]`` when they match."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    with translate_errors("check"):
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
