"""The worker process: hosts ``CheckoutSessionWorkflow``, ``CheckoutOrderWorkflow`` and their activities.

Dependencies (HTTP client, profile cache, signing keys, audit repository) are
built once per process and shared by the activity instances; private keys are
loaded here from 0600 files and never passed through workflow history
(DESIGN.md invariant 6). Shutdown is graceful: on SIGINT/SIGTERM the worker
stops polling, lets running activities finish for up to
``graceful_shutdown_timeout``, then exits; anything unfinished is retried by
Temporal on another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.audit import StorageActivities, write_records
from activities.discovery import DiscoveryActivities
from activities.merchant import MerchantActivities
from activities.notify import NotifyActivities
from activities.operation import OperationActivities
from contracts import KeyStore, Redactor
from core.logging import salt_from_settings
from core.outbound_http import new_http_client
from core.platform_profiles import PlatformProfileRef, PlatformProfiles
from core.settings import Settings
from core.telemetry import worker_interceptors
from merchants.platform_profile import profile_declared_to
from merchants.profiles import ProfileCache
from storage.repository import Repository
from worker.log_context import ActivityLogContextInterceptor
from worker.sandbox import DirectContextSandboxRunner
from workflows.checkout import CheckoutSessionWorkflow
from workflows.order import CheckoutOrderWorkflow

DEFAULT_MAX_CACHED_WORKFLOWS = 200
SHARED_WORKFLOW_MODULES = ("workflows", "activities", "contracts")  # pure for workflow use (import-linter)


@dataclass
class WorkerOptions:
    """Worker settings (issue 13: chosen by measurement, docs/perf/after-quick.md).

    ``max_cached_workflows`` bounds the sticky cache of running sessions (a finished
    one completes at its terminal status, decision 0001, and leaves the cache): with
    the SDK's default (1,000) every open session kept ~0.4 MB of worker memory; an
    evicted session's next operation replays its history (one operation's worth of
    events each, issue 13).
    """

    max_concurrent_activities: int = 100
    max_concurrent_workflow_tasks: int = 100
    graceful_shutdown_timeout: dt.timedelta = dt.timedelta(seconds=20)
    max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS
    share_workflow_modules: bool = True


def build_worker(
    client: Client,
    settings: Settings,
    *,
    keys: KeyStore,
    repository: Repository,
    http: httpx.AsyncClient,
    options: WorkerOptions | None = None,
) -> Worker:
    options = options or WorkerOptions()
    profiles = ProfileCache(http, settings.merchants)
    base = settings.public_base_url
    salt = salt_from_settings(settings)
    merchant = MerchantActivities(
        http,
        profiles,
        keys,
        base,
        redactor=Redactor(salt) if salt is not None else None,
        ca_file=settings.outbound_ca_file,
    )
    discovery = DiscoveryActivities(
        profiles,
        lambda merchant_id: profile_declared_to(settings, keys, merchant_id),
    )
    storage = StorageActivities(repository)
    operation = OperationActivities(
        merchant.call_merchant, lambda items: write_records(repository, items, keep_stored=True, adopt_orphans=True)
    )
    platform_profiles = PlatformProfiles(
        http,
        {
            platform_id: PlatformProfileRef(platform.profile_url, platform.allow_insecure_loopback)
            for platform_id, platform in settings.platforms.items()
            if platform.profile_url is not None
        },
    )
    notify = NotifyActivities(http, keys, base, platform_profiles)
    return Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=[CheckoutSessionWorkflow, CheckoutOrderWorkflow],
        activities=[
            merchant.call_merchant,
            operation.merchant_operation,
            discovery.discover_merchant,
            storage.write_batch,
            notify.notify_platform,
        ],
        max_concurrent_activities=options.max_concurrent_activities,
        max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
        max_cached_workflows=options.max_cached_workflows,
        workflow_runner=_runner(options.share_workflow_modules),
        graceful_shutdown_timeout=options.graceful_shutdown_timeout,
        # Tracing comes with the client when it was connected with it (core/temporal/client.py); else it is added here.
        interceptors=[ActivityLogContextInterceptor(), *worker_interceptors(client)],
    )


def _runner(share_workflow_modules: bool) -> DirectContextSandboxRunner:
    restrictions = SandboxRestrictions.default
    if share_workflow_modules:
        restrictions = restrictions.with_passthrough_modules(*SHARED_WORKFLOW_MODULES)
    return DirectContextSandboxRunner(restrictions=restrictions)


@contextlib.asynccontextmanager
async def http_client(ca_file: Path | None = None) -> AsyncIterator[httpx.AsyncClient]:
    client = new_http_client(ca_file=ca_file)
    try:
        yield client
    finally:
        await client.aclose()


async def run_until_signalled(worker: Worker) -> None:
    """Run the worker until SIGINT/SIGTERM, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()
