"""``ucp-connector worker --metrics-port``: the Temporal SDK's Prometheus endpoint, from the real CLI process.

The worker runs exactly as an operator starts it (a subprocess with a TOML
configuration and 0600 key files, like tests/e2e's crash tests) against the
Temporal dev server. The endpoint must answer with ``temporal_*`` metrics on
loopback, and the process's log lines must be the JSON the rest of the
system writes.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.keyfiles import create_signing_keyring, load_secret
from core.settings import StorageSettings
from core.temporal.codec import PayloadKeyring
from tests.fixtures.http import free_port
from tests.fixtures.worker_process import WorkerProcess, save_payload_keyring, write_config

pytestmark = pytest.mark.e2e


def _scrape(url: str, seconds: float = 30.0) -> str:
    """The first metrics page that lists a worker metric (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5).text
        except httpx.TransportError:
            last = ""
        if "temporal_worker_task_slots_available" in last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"no worker metrics at {url}; last page:\n{last[:2000]}")


def test_worker_serves_temporal_metrics_on_loopback(
    dev_server_env: WorkflowEnvironment, payload_keyring: PayloadKeyring, tmp_path: Path
) -> None:
    """Temporal SDK metrics (task slots, pollers, RPC requests) are served at /metrics; logs are JSON lines."""
    state_dir = tmp_path / "state"
    keys_dir = state_dir / "keys"
    create_signing_keyring(keys_dir / "connector-signing.json")
    save_payload_keyring(keys_dir, payload_keyring)
    storage = StorageSettings(
        database_url=f"sqlite+aiosqlite:///{state_dir / 'connector.db'}",
        redaction_salt_file=keys_dir / "salt.json",
        cursor_secret_file=keys_dir / "cursor.json",
    )
    assert storage.redaction_salt_file is not None and storage.cursor_secret_file is not None
    load_secret(storage.redaction_salt_file, create=True)
    load_secret(storage.cursor_secret_file, create=True)
    config = write_config(
        state_dir / "ucp-connector.toml",
        {
            "state_dir": str(state_dir),
            "temporal": {
                "address": dev_server_env.client.service_client.config.target_host,
                "task_queue": f"metrics-{uuid.uuid4().hex[:8]}",
            },
            "storage": {
                "database_url": storage.database_url,
                "redaction_salt_file": str(storage.redaction_salt_file),
                "cursor_secret_file": str(storage.cursor_secret_file),
            },
        },
    )
    port = free_port()
    worker = WorkerProcess(state_dir, config, log_name="metrics-worker")
    worker.start(args=["--metrics-port", str(port)], env={"UCP_LOG_FORMAT": "json"})
    try:
        page = _scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        worker.stop()

    metric_names = {line.split("{")[0].split(" ")[0] for line in page.splitlines() if line.startswith("temporal_")}
    assert {"temporal_worker_task_slots_available", "temporal_request"} <= metric_names, sorted(metric_names)
    assert 'service_name="temporal-core-sdk"' in page or "task_queue=" in page

    log_lines = [line for line in worker.log.read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in log_lines]
    assert entries and all(entry["service"] == "ucp-connector-worker" for entry in entries)
    assert any(entry["event"].startswith("Beginning worker shutdown") for entry in entries)
