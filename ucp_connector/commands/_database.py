"""Options shared by the commands that open the database (``migrate``, ``audit``)."""

from __future__ import annotations

from typing import Annotated

import typer

from storage.config import DEFAULT_SERVICE_ROLE
from storage.database import DEFAULT_DATABASE_URL

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="UCP_DATABASE_URL",
        help="SQLAlchemy URL (postgresql://... or sqlite:///file.db).",
        show_default=True,
    ),
]
OwnerDatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar=["UCP_MIGRATION_DATABASE_URL", "UCP_DATABASE_URL"],
        help="URL of the schema OWNER (migrations create tables, triggers and the service role).",
        show_default=True,
    ),
]
Schema = Annotated[
    str | None,
    typer.Option("--schema", envvar="UCP_DATABASE_SCHEMA", help="PostgreSQL schema (search_path)."),
]
ServiceRole = Annotated[
    str,
    typer.Option(
        "--service-role",
        envvar="UCP_DATABASE_SERVICE_ROLE",
        help="PostgreSQL role the service connects as (INSERT/SELECT only on audit_events).",
    ),
]

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_SERVICE_ROLE", "DatabaseUrl", "OwnerDatabaseUrl", "Schema", "ServiceRole"]
