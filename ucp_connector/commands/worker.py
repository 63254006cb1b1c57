"""``ucp-connector worker``: run the Temporal worker that hosts the checkout workflow and its activities.

Logs are JSON lines on stderr (``core.logging``), tracing follows
``UCP_OTEL_EXPORTER`` (``core.telemetry``), and ``--metrics-port``
serves the Temporal SDK's Prometheus metrics (``worker.runtime``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

from core.connector_keys import signing_keys
from core.logging import configure_logging, salt_from_settings
from core.settings import Settings, load_settings
from core.telemetry import configure_tracing, shutdown_tracing
from core.temporal.client import connect, load_payload_keyring
from storage.repository import Repository
from ucp_connector.process_exit import exit_now
from worker.main import DEFAULT_MAX_CACHED_WORKFLOWS, WorkerOptions, build_worker, http_client, run_until_signalled
from worker.runtime import metrics_address, worker_runtime

console = Console(stderr=True)
SERVICE_NAME = "ucp-connector-worker"


def worker(
    max_concurrent_activities: Annotated[int, typer.Option(min=1, help="Activities run at once.")] = 100,
    max_concurrent_workflow_tasks: Annotated[int, typer.Option(min=1, help="Workflow tasks run at once.")] = 100,
    max_cached_workflows: Annotated[
        int,
        typer.Option(
            min=0,
            envvar="UCP_WORKER_MAX_CACHED_WORKFLOWS",
            help="Sessions kept in the worker's memory between tasks (others replay their history).",
        ),
    ] = DEFAULT_MAX_CACHED_WORKFLOWS,
    graceful_shutdown_seconds: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, how long running activities may finish.")
    ] = 20.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve the Temporal SDK's Prometheus metrics on this port (default: off)."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface of the metrics endpoint.")] = "127.0.0.1",
) -> None:
    """Run the worker until SIGINT/SIGTERM (graceful shutdown). Configuration: env UCP_* and UCP_CONFIG."""
    settings = load_settings()
    configure_logging(SERVICE_NAME, salt=salt_from_settings(settings))
    configure_tracing(SERVICE_NAME)
    options = WorkerOptions(
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=dt.timedelta(seconds=graceful_shutdown_seconds),
    )
    try:
        asyncio.run(_run(settings, options, metrics_host=metrics_host, metrics_port=metrics_port))
    finally:
        shutdown_tracing()
    exit_now(0)


async def _run(settings: Settings, options: WorkerOptions, *, metrics_host: str, metrics_port: int | None) -> None:
    keys = signing_keys(settings)
    runtime = worker_runtime(metrics_host=metrics_host, metrics_port=metrics_port)
    client = await connect(settings.temporal, load_payload_keyring(settings), runtime=runtime)
    repository = Repository.from_settings(settings)
    try:
        async with http_client(settings.outbound_ca_file) as http:
            built = build_worker(client, settings, keys=keys, repository=repository, http=http, options=options)
            if metrics_port is not None:
                console.print(f"metrics on http://{metrics_address(metrics_host, metrics_port)}/metrics")
            console.print(
                f"worker polling task queue [bold]{settings.temporal.task_queue}[/] on {settings.temporal.address}"
            )
            await run_until_signalled(built)
    finally:
        await repository.close()
    console.print("worker stopped")
