"""``ucp-connector dev`` and ``demo`` as a new user meets them (issue 7, "Done means").

`dev` runs as a real subprocess with free ports and a private state directory:
the demo completes a checkout through it, the workflow is visible through the
Temporal API with its search attributes, the Temporal UI answers, SIGINT
leaves no process behind, and a session started before a restart continues
after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from contracts.ucp import Checkout
from tests.fixtures.dev_stack import CLI, DevStack
from tests.fixtures.http import free_ports
from ucp_connector.commands.demo import demo_client
from ucp_connector.dev_layout import DEMO_MERCHANT, DevLayout
from ucp_connector.processes import port_is_free
from ucp_connector.temporal_binaries import temporal_cli

pytestmark = pytest.mark.e2e


def _demo(stack: DevStack, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "demo", "--state-dir", str(stack.state_dir), *extra],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_dev_runs_the_demo_and_stops_cleanly(dev_stack: DevStack) -> None:
    dev_stack.start()
    for url in (f"http://127.0.0.1:{dev_stack.ui}/", f"http://127.0.0.1:{dev_stack.api}/healthz"):
        assert httpx.get(url, timeout=10).status_code == 200, url
    result = _demo(dev_stack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed" in result.stdout and "shipped" in result.stdout and "Temporal UI: http" in result.stdout
    workflow_id = result.stdout.split("done. workflow ")[1].split()[0]
    retention = subprocess.run(
        [
            *(str(temporal_cli()), "operator", "namespace", "describe", "--namespace", "default"),
            *("--output", "json", "--address", f"127.0.0.1:{dev_stack.temporal}"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # Decision 0001: closed sessions answer replays for the 48 h window only while the namespace keeps them.
    assert json.loads(retention.stdout)["config"]["workflowExecutionRetentionTtl"] == "259200s"

    async def visible() -> list[tuple[str, str, str]]:
        client = await Client.connect(f"127.0.0.1:{dev_stack.temporal}")
        found = []
        async for execution in client.list_workflows(f'UcpPlatform = "demo" AND UcpMerchant = "{DEMO_MERCHANT}"'):
            attributes = execution.search_attributes
            found.append((execution.id, attributes["UcpStatus"][0], attributes["UcpMerchant"][0]))
        return found

    deadline = time.monotonic() + 30
    while True:  # visibility is eventually consistent
        rows = asyncio.run(visible())
        if (workflow_id, "completed", DEMO_MERCHANT) in rows or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (workflow_id, "completed", DEMO_MERCHANT) in rows, rows
    shown = subprocess.run(
        [*CLI, "session", "show", workflow_id],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "UCP_CONFIG": str(DevLayout(dev_stack.state_dir).config_file)},
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "completed" in shown.stdout and "call_merchant" in shown.stdout and "tok_demo" not in shown.stdout
    # An operator on the dev stack, exactly as the README says: no flags, no UCP_* variables.
    verified = subprocess.run(
        [*CLI, "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=dev_stack.state_dir.parent,
        env={key: value for key, value in os.environ.items() if not key.startswith("UCP_")},
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every chain is intact" in verified.stdout and " 0 events" not in verified.stdout, verified.stdout
    escalation = _demo(dev_stack, "--scenario", "escalation", "--buyer-wait", "0")
    assert escalation.returncode == 0 and "requires_escalation" in escalation.stdout, escalation.stdout

    running = dev_stack.interrupt()
    assert dev_stack.process is not None and dev_stack.process.returncode == 0, dev_stack.text()
    assert len(running) >= 5, "temporal, codec server, merchant, worker and api were children of dev"
    time.sleep(0.5)
    assert [pid for pid in running if Path(f"/proc/{pid}").exists()] == [], "processes left behind after Ctrl-C"


def test_a_session_continues_after_a_restart(dev_stack: DevStack) -> None:
    dev_stack.start()
    layout = DevLayout(dev_stack.state_dir)
    api = f"http://127.0.0.1:{dev_stack.api}"

    async def create() -> Checkout:
        async with demo_client(layout, api) as platform:
            body = {"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 2}]}
            return await platform.create_checkout(DEMO_MERCHANT, body)

    created = asyncio.run(create())
    assert created.status == "incomplete", created
    dev_stack.interrupt()

    dev_stack.start()
    # The first run's logs are kept beside this run's, and everything dev made is private to this user.
    assert "worker polling" in (layout.logs_dir / "worker.log.1").read_text(errors="replace")
    assert stat.S_IMODE(dev_stack.state_dir.stat().st_mode) == 0o700
    for made in (layout.database_file, layout.logs_dir / "api.log", dev_stack.state_dir / "temporal.db"):
        assert stat.S_IMODE(made.stat().st_mode) & 0o077 == 0, made

    async def continue_and_cancel() -> tuple[Checkout, Checkout, dict[str, Any]]:
        async with demo_client(layout, api) as platform:
            again = await platform.get_checkout(DEMO_MERCHANT, created.id)
            canceled = await platform.cancel_checkout(DEMO_MERCHANT, created.id)
            return again, canceled, await platform.session_events(created.id, limit=200)

    again, canceled, events = asyncio.run(continue_and_cancel())
    assert again.status == "incomplete" and again.line_items == created.line_items
    assert canceled.status == "canceled"
    # Decision order, one chain across the restart: nothing lost, nothing written twice.
    # The cancel answered only after its own events were stored, so they are all here already.
    actions = [event["action"] for event in events["events"]]
    assert actions == [
        "merchant_negotiated",
        "merchant.create_checkout",
        "status_changed",
        "create",
        "merchant.cancel_checkout",
        "status_changed",
        "cancel",
    ]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_children_never_outlive_dev(dev_stack: DevStack, signum: signal.Signals) -> None:
    """`kill -KILL` or `kill -HUP` (a closed terminal) of `dev` alone: all four services go too (issue 16, 5).

    Only dev's own pid is signalled, never its process group, as a terminal or
    an operator's `kill` would; before, every service kept running and held its port.
    """
    dev_stack.start()
    running = dev_stack.descendants()
    assert len(running) >= 5, "temporal, codec server, merchant, worker and api run under dev"
    assert dev_stack.process is not None
    os.kill(dev_stack.process.pid, signum)
    dev_stack.process.wait(timeout=90)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in running):
        time.sleep(0.2)
    assert [pid for pid in running if Path(f"/proc/{pid}").exists()] == [], f"left running after {signum.name}"
    for port in (dev_stack.temporal, dev_stack.ui, dev_stack.api, dev_stack.merchant, dev_stack.codec):
        assert port_is_free("127.0.0.1", port), f"port {port} still held"


def test_a_busy_port_names_the_ucp_process_that_holds_it(tmp_path: Path) -> None:
    """The next `dev` after an orphan used to say only "port already in use"."""
    [merchant_port, *others] = free_ports(5)
    holder = subprocess.Popen(
        [*CLI, "merchant", "--port", str(merchant_port), "--allow-insecure-loopback", "--db", str(tmp_path / "m.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while port_is_free("127.0.0.1", merchant_port):
            assert holder.poll() is None and time.monotonic() < deadline, "merchant did not start"
            time.sleep(0.2)
        temporal, ui, api, codec = (str(port) for port in others)
        ports = ["--temporal-port", temporal, "--temporal-ui-port", ui, "--api-port", api, "--codec-port", codec]
        result = subprocess.run(
            [*CLI, "dev", "--state-dir", str(tmp_path / ".ucp"), "--merchant-port", str(merchant_port), *ports],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"port {merchant_port}" in message and f"pid {holder.pid}" in message and "earlier dev" in message, message
