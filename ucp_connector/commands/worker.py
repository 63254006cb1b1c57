"""``ucp-connector worker``: run the Temporal worker that hosts the checkout workflow and its activities."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

from storage.repository import Repository
from ucp_connector.process_exit import exit_now
from ucp_connector.settings import Settings
from worker.client import connect, load_payload_keyring
from worker.main import WorkerOptions, build_worker, http_client, load_keys, run_until_signalled

console = Console(stderr=True)


def worker(
    max_concurrent_activities: Annotated[int, typer.Option(min=1, help="Activities run at once.")] = 100,
    max_concurrent_workflow_tasks: Annotated[int, typer.Option(min=1, help="Workflow tasks run at once.")] = 100,
    graceful_shutdown_seconds: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, how long running activities may finish.")
    ] = 20.0,
) -> None:
    """Run the worker until SIGINT/SIGTERM (graceful shutdown). Configuration: env UCP_* and UCP_CONFIG."""
    settings = Settings()
    options = WorkerOptions(
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=dt.timedelta(seconds=graceful_shutdown_seconds),
    )
    asyncio.run(_run(settings, options))
    exit_now(0)


async def _run(settings: Settings, options: WorkerOptions) -> None:
    keys = load_keys(settings)
    client = await connect(settings.temporal, load_payload_keyring(settings.resolved_keys_dir))
    repository = Repository.from_settings(settings.storage)
    try:
        async with http_client() as http:
            built = build_worker(client, settings, keys=keys, repository=repository, http=http, options=options)
            console.print(
                f"worker polling task queue [bold]{settings.temporal.task_queue}[/] on {settings.temporal.address}"
            )
            await run_until_signalled(built)
    finally:
        await repository.close()
    console.print("worker stopped")
