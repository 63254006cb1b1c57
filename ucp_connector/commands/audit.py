"""``ucp-connector audit``: operator tools for the append-only audit log (DESIGN.md invariant 7)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from storage.database import make_engine
from storage.verify import ChainReport, count_events, verify_chains
from ucp_connector.commands._database import DatabaseUrl, Schema, storage_settings

app = typer.Typer(help="Inspect the append-only, hash-chained audit log.", no_args_is_help=True)
console = Console()


@app.command()
def verify(
    session: Annotated[str | None, typer.Option("--session", help="Verify only this session's chain.")] = None,
    database_url: DatabaseUrl = None,
    schema: Schema = None,
) -> None:
    """Recompute every hash chain; report the first broken link of each session; exit 1 on any break.

    Reads the database the API writes (the configured one) unless ``--database-url`` says otherwise.
    """
    settings = storage_settings(database_url, schema)
    report = asyncio.run(_verify(settings.database_url, settings.storage.database_schema, session))
    if session is not None and report.events == 0:
        # A mistyped id must not read as "every chain is intact".
        console.print(f"[bold red]error:[/] no audit events for session {session}", highlight=False)
        raise typer.Exit(2)
    if report.ok:
        console.print(
            f"[bold green]ok[/]: {report.events} events in {report.sessions} sessions verified; every chain is intact"
        )
        return
    table = Table(title="broken audit chains (first broken link per session)")
    table.add_column("session", no_wrap=True)
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("reason", no_wrap=True)
    table.add_column("detail")
    for broken in report.breaks:
        table.add_row(broken.session_id, str(broken.seq), broken.reason, broken.detail)
    console.print(table)
    console.print(
        f"[bold red]FAILED[/]: {len(report.breaks)} of {report.sessions} sessions have a broken chain "
        f"({report.events} events read)"
    )
    raise typer.Exit(1)


async def _verify(url: str, schema: str | None, session: str | None) -> ChainReport:
    engine = make_engine(url, schema=schema)
    try:
        total = await count_events(engine, session)
        progress = Progress(
            TextColumn("verifying audit chains"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not console.is_terminal,
        )
        with progress:
            task = progress.add_task("verify", total=total)
            return await verify_chains(engine, session_id=session, progress=lambda done: progress.advance(task, done))
    finally:
        await engine.dispose()
