"""Options shared by the commands that open the database (``migrate``, ``audit``).

Each option overrides the field of the one :class:`~core.settings.Settings`
that the API and the worker read; left out, the command uses exactly the
database they use (``UCP_CONFIG``'s ``[storage]``, ``UCP_STORAGE__*``, or
``<state_dir>/connector.db``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import Settings, load_settings

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (postgresql://... or sqlite:///file.db); default: the configured database.",
    ),
]
Schema = Annotated[str | None, typer.Option("--schema", help="PostgreSQL schema (search_path).")]
ServiceRole = Annotated[
    str | None,
    typer.Option(
        "--service-role", help="PostgreSQL role the service connects as (INSERT/SELECT only on audit_events)."
    ),
]


def storage_settings(
    database_url: str | None, schema: str | None, service_role: str | None = None, *, owner: bool = False
) -> Settings:
    """The settings with the command's options on top; ``owner`` puts ``--database-url`` in the owner's place."""
    field = "migration_database_url" if owner else "database_url"
    return load_settings(
        storage={field: database_url, "database_schema": schema, "database_service_role": service_role}
    )


__all__ = ["DatabaseUrl", "Schema", "ServiceRole", "storage_settings"]
