"""Alembic environment: runs on a connection handed over by :mod:`storage.migrate`, or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from core.settings import load_settings
from storage.database import make_engine
from storage.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    settings = load_settings()
    engine = make_engine(settings.owner_database_url, schema=settings.storage.database_schema)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `ucp-connector migrate`")
shared = config.attributes.get("connection")
if shared is not None:
    _run(shared)
else:
    asyncio.run(_run_standalone())
