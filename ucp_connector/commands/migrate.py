"""``ucp-connector migrate``: bring the audit/session schema to a revision (run as the schema owner)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from storage import migrate as migrations
from storage.database import make_engine
from ucp_connector.commands._database import DatabaseUrl, Schema, ServiceRole, storage_settings

console = Console()


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision ('head', '0001', or 'base' with --downgrade).")] = (
        migrations.HEAD
    ),
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Go down to REVISION instead of up.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only compare models and database (alembic check); exit 1 on drift.")
    ] = False,
    database_url: DatabaseUrl = None,
    schema: Schema = None,
    service_role: ServiceRole = None,
) -> None:
    """Apply the storage migrations (audit_events, sessions, append-only triggers, service role).

    Connects as the schema owner: ``--database-url``, else ``storage.migration_database_url``, else the
    database the API uses.
    """
    if downgrade and revision == migrations.HEAD:
        raise typer.BadParameter("--downgrade needs an explicit target revision, e.g. base")
    settings = storage_settings(database_url, schema, service_role, owner=True)
    console.print(f"migrating {_display(settings.owner_database_url)}", highlight=False)
    drift = asyncio.run(
        _run(
            settings.owner_database_url,
            settings.storage.database_schema,
            revision,
            downgrade=downgrade,
            check=check,
            role=settings.storage.database_service_role,
        )
    )
    if drift:
        console.print("[bold red]models and database differ:[/]")
        for difference in drift:
            console.print(f"  {difference}")
        raise typer.Exit(1)


def _display(url: str) -> str:
    """The URL without its password, for the operator's screen."""
    return make_url(url).render_as_string(hide_password=True)


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
