"""The connector as separate processes on loopback, for the benchmark: what ``ucp-connector dev`` starts, minus the UI.

Reuses the dev stack's code (``ucp_connector.dev_layout.prepare`` writes keys,
configuration and the migrated SQLite audit store; ``ucp_connector.dev_children``
declares the merchant, worker and API children; ``ucp_connector.processes``
supervises them), with three differences that make the figures about
the connector rather than about the demo:

* Temporal runs **in memory** (no ``--db-filename``) and headless;
* the reference merchant keeps its state in memory and ships nothing on its own
  (no order webhooks arriving in the middle of a measurement), and also trusts
  the benchmark's own platform (``direct_key``, inline JWKS), so the direct bound
  is measured against the very merchant process the connector calls;
* the demo platform gets a rate limit far above what the benchmark sends, so
  the sweep measures the connector, not its limiter.

Each service is its own process, so CPU and memory can be read per service
(``bench.bench_lib.resources``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.merchant_flows import PLATFORM as DIRECT_PLATFORM
from contracts import JwkSet, SigningKey
from reference_merchant import MerchantConfig
from tests.fixtures.http import free_ports
from ucp_connector.client import NO_RETRIES, PlatformClient
from ucp_connector.commands.demo import DEMO_PROFILE_URL
from ucp_connector.dev_children import connector_children
from ucp_connector.dev_layout import DEMO_MERCHANT, DevLayout, DevPorts, prepare
from ucp_connector.processes import Child, Stack, StackError, tcp_answers
from ucp_connector.temporal_binaries import temporal_cli
from worker import search_attributes as registration

CLI = ["python", "-c", "from ucp_connector.cli import main; main()"]
# Far above what 128 in flight can send: the limiter must not be what the sweep measures.
RATE_LIMIT = "\n[platforms.demo.rate_limit]\nrequests_per_second = 100000\nburst = 100000\nmax_concurrent = 10000\n"
MERCHANT = DEMO_MERCHANT
SERVICES = ("api", "worker", "temporal", "merchant")


@dataclass(frozen=True)
class RunningStack:
    layout: DevLayout
    ports: DevPorts
    pids: dict[str, int]
    direct_key: SigningKey

    @property
    def merchant_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.merchant}"

    @property
    def merchant_endpoint(self) -> str:
        """The merchant's REST base, as its profile publishes it (where a platform calls it directly)."""
        return MerchantConfig(base_url=self.merchant_url, allow_insecure_loopback=True).endpoint

    @property
    def api_url(self) -> str:
        return f"http://{self.ports.host}:{self.ports.api}"

    @property
    def temporal_address(self) -> str:
        return f"{self.ports.host}:{self.ports.temporal}"

    def platform(self, connections: int = 16) -> PlatformClient:
        """The demo platform (its key from the state directory): signs, verifies, never retries here."""
        client = PlatformClient(
            self.api_url,
            self.layout.demo_platform_key(),
            profile_url=DEMO_PROFILE_URL,
            retry=NO_RETRIES,
            transport=httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
            ),
        )
        return client


@contextlib.contextmanager
def process_stack(state_dir: Path, python: str) -> Iterator[RunningStack]:
    """Temporal (in memory), merchant, worker, API as children; stopped in reverse order, always."""
    temporal, ui, api, merchant, codec = free_ports(5)  # the UI and codec server are configured, not started
    ports = DevPorts("127.0.0.1", temporal, ui, api, merchant, codec)
    layout = DevLayout(state_dir)
    old_umask = os.umask(0o077)
    try:
        prepare(layout, ports)
    finally:
        os.umask(old_umask)
    with layout.config_file.open("a", encoding="utf-8") as config:
        config.write(RATE_LIMIT)
    direct_key = SigningKey.generate()
    merchant_config = layout.state_dir / "dev" / "bench-merchant.json"  # nothing ships on its own
    trusted = {"profile_url": DIRECT_PLATFORM, "jwks": JwkSet((direct_key.public_jwk,)).to_dict()}
    merchant_config.write_text(json.dumps({"platforms": [trusted]}), encoding="utf-8")
    cli = [python, *CLI[1:]]
    env = {"UCP_CONFIG": str(layout.config_file.resolve()), "UCP_STATE_DIR": str(layout.state_dir.resolve())}
    logs = layout.logs_dir
    host = ports.host
    children = [
        Child(
            "temporal",
            [
                str(temporal_cli()),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                host,
                "--port",
                str(temporal),
                "--log-level",
                "error",
                *registration.dev_server_flags(),
            ],
            lambda: tcp_answers(host, temporal),
            logs / "temporal.log",
        ),
        *connector_children(cli, layout, ports, env, merchant_config=merchant_config),
    ]
    stack = Stack()
    try:
        for child in children:
            try:
                stack.start(child, timeout=120)
            except StackError as error:
                tail = child.log_file.read_text(errors="replace")[-3000:] if child.log_file.exists() else ""
                raise StackError(f"{error}\n{tail}") from error
        pids = {child.name: child.process.pid for child in children if child.process is not None}
        yield RunningStack(layout, ports, pids, direct_key)
    finally:
        stack.stop()
