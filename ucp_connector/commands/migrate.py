"""``ucp-connector migrate``: bring the audit/session schema to a revision (run as the schema owner)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from storage import migrate as migrations
from storage.database import make_engine
from ucp_connector.commands._database import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SERVICE_ROLE,
    OwnerDatabaseUrl,
    Schema,
    ServiceRole,
)

console = Console()


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision ('head', '0001', or 'base' with --downgrade).")] = (
        migrations.HEAD
    ),
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Go down to REVISION instead of up.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only compare models and database (alembic check); exit 1 on drift.")
    ] = False,
    database_url: OwnerDatabaseUrl = DEFAULT_DATABASE_URL,
    schema: Schema = None,
    service_role: ServiceRole = DEFAULT_SERVICE_ROLE,
) -> None:
    """Apply the storage migrations (audit_events, sessions, append-only triggers, service role)."""
    if downgrade and revision == migrations.HEAD:
        raise typer.BadParameter("--downgrade needs an explicit target revision, e.g. base")
    drift = asyncio.run(_run(database_url, schema, revision, downgrade=downgrade, check=check, role=service_role))
    if drift:
        console.print("[bold red]models and database differ:[/]")
        for difference in drift:
            console.print(f"  {difference}")
        raise typer.Exit(1)


async def _run(url: str, schema: str | None, revision: str, *, downgrade: bool, check: bool, role: str) -> list[object]:
    engine = make_engine(url, schema=schema)
    try:
        if check:
            drift = await migrations.schema_drift(engine)
            if not drift:
                console.print("models and database match")
            return drift
        if downgrade:
            await migrations.downgrade(engine, revision, service_role=role)
        else:
            await migrations.upgrade(engine, revision, service_role=role)
        current = await migrations.current_revision(engine)
        console.print(f"database at revision [bold]{current or 'base'}[/]")
        return []
    finally:
        await engine.dispose()
