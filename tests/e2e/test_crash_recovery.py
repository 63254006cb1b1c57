"""Kill the worker (SIGKILL) in the middle of ``complete``: exactly one order, and the session ends completed.

DESIGN invariant 4 and IDM-05/IDM-12. The worker runs in its own process
(``ucp-connector worker``) against the Temporal dev server; the reference
merchant runs in the test. Two crash points:

* **before the merchant committed** — the merchant receives the complete but
  hangs without executing it (fault ``hang_count`` with ``hang_then="drop"``);
  the worker is killed while it waits;
* **after the merchant committed, before the activity returned** — the
  merchant places the order and the response is lost (``drop_after_commit``);
  the worker is killed as soon as the order exists.

A new worker process then takes over. Every retry must carry the *same*
outbound ``Idempotency-Key``, so the merchant executes the complete once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.gateway import CheckoutGateway
from core.keyfiles import create_signing_keyring
from core.settings import Settings
from core.temporal.codec import PayloadKeyring
from reference_merchant import ManualClock, MerchantConfig, ReferenceMerchant
from storage import migrate
from storage.repository import Repository
from tests.fixtures.connector_stack import (
    CONNECTOR_BASE,
    MERCHANT,
    PLATFORM,
    RequestLog,
    payment_body,
    ready_body,
    request,
    trusted_connector,
)
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.fixtures.waiting import eventually
from tests.fixtures.worker_process import WorkerProcess, save_payload_keyring, write_config
from workflows.types import Operation, PolicySnapshot

pytestmark = pytest.mark.e2e

CALL_TIMEOUT_SECONDS = 4  # a killed attempt is retried after this (start_to_close)


@dataclasses.dataclass
class CrashRig:
    merchant: ReferenceMerchant
    requests: RequestLog
    gateway: CheckoutGateway
    state_dir: Path
    config: Path

    def worker(self, name: str) -> WorkerProcess:
        return WorkerProcess(self.state_dir, self.config, log_name=name)


@pytest.fixture
async def rig(
    dev_server_env: WorkflowEnvironment, payload_keyring: PayloadKeyring, tmp_path: Path
) -> AsyncIterator[CrashRig]:
    state_dir = tmp_path / "state"
    keys_dir = state_dir / "keys"
    keys = create_signing_keyring(keys_dir / "connector-signing.json")
    save_payload_keyring(keys_dir, payload_keyring)
    sock = bind_loopback()
    merchant_url = url_of(sock)
    task_queue = f"crash-{uuid.uuid4().hex[:8]}"
    storage = {
        "database_url": f"sqlite+aiosqlite:///{state_dir / 'connector.db'}",
        "redaction_salt_file": str(keys_dir / "salt.json"),
        "cursor_secret_file": str(keys_dir / "cursor.json"),
    }
    repository = Repository.from_settings(Settings(storage=storage), create_secrets=True)
    await migrate.upgrade(repository.engine)
    await repository.close()
    config = write_config(
        state_dir / "ucp-connector.toml",
        {
            "state_dir": str(state_dir),
            "public_base_url": CONNECTOR_BASE,
            "temporal": {"address": dev_server_env.client.service_client.config.target_host, "task_queue": task_queue},
            "storage": storage,
            "merchants": {
                MERCHANT: {"profile_url": f"{merchant_url}/.well-known/ucp", "allow_insecure_loopback": True}
            },
        },
    )
    merchant = ReferenceMerchant(
        MerchantConfig(
            base_url=merchant_url,
            allow_insecure_loopback=True,
            platforms=[trusted_connector(keys)],
        ),
        clock=ManualClock(),
    )
    requests = RequestLog(merchant.asgi)
    gateway = CheckoutGateway(dev_server_env.client, task_queue=task_queue, wait_bound=dt.timedelta(seconds=120))
    async with serve(requests, sock):
        yield CrashRig(merchant, requests, gateway, state_dir, config)


async def _ready_session(rig: CrashRig) -> str:
    from api.gateway import SessionContext

    context = SessionContext(
        platform_id=PLATFORM,
        merchant_id=MERCHANT,
        policy=PolicySnapshot(),
        webhook_url=None,
        webhook_allow_insecure_loopback=False,
        merchant_call_timeout_seconds=CALL_TIMEOUT_SECONDS,
    )
    session_id, result = await rig.gateway.create(context, request(ready_body()))
    assert result.body["status"] == "ready_for_complete", result.body
    return session_id


@pytest.mark.parametrize("crash_point", ["before_merchant_commit", "after_merchant_commit"])
async def test_killing_the_worker_during_complete_places_exactly_one_order(rig: CrashRig, crash_point: str) -> None:
    first = rig.worker("worker-1")
    first.start()
    try:
        session_id = await _ready_session(rig)
        faults = rig.merchant.faults
        faults.operations = {"complete_checkout"}
        if crash_point == "before_merchant_commit":
            faults.hang_count, faults.hang_seconds, faults.hang_then = 1, 60.0, "drop"
        else:
            faults.drop_after_commit_count = 1
        completion = asyncio.create_task(
            rig.gateway.operate(PLATFORM, session_id, Operation.COMPLETE, request(payment_body()))
        )
        await eventually(lambda: _count(rig), lambda seen: seen >= 1)  # the complete reached the merchant
        if crash_point == "after_merchant_commit":
            await eventually(rig.merchant.count_orders, lambda orders: orders == 1)
        else:
            assert await rig.merchant.count_orders() == 0
        first.kill()
        faults.reset()
        second = rig.worker("worker-2")
        second.start()
        try:
            result = await asyncio.wait_for(completion, timeout=120)
        finally:
            second.stop()
    finally:
        first.stop()
    assert result.body["status"] == "completed", result.body
    assert await rig.merchant.count_orders() == 1
    keys = rig.requests.keys("POST", "/complete")
    assert len(keys) >= 2 and len(set(keys)) == 1, keys  # retried, always with the same outbound key


async def _count(rig: CrashRig) -> int:
    return rig.requests.count("POST", "/complete")
