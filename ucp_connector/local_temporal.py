"""An embedded Temporal dev server that speaks the connector's payloads: for the benchmarks, doc generators and tests.

Each of them needs the same server: the ``temporal`` CLI from the wheel (never
a download), the connector's data converter (so workflow inputs are encrypted
exactly as in production) and the connector's search attributes registered. One
helper keeps them from drifting apart; ``./ucp dev`` runs its server as a child
process instead, because it must outlive no one and serve the UI on a fixed port.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from ucp_connector.temporal_binaries import temporal_cli
from workflows import search_attributes


async def start_dev_server(
    keyring: PayloadKeyring | None = None,
    *,
    ui: bool = False,
    port: int | None = None,
    db_file: Path | None = None,
) -> WorkflowEnvironment:
    """A local dev server (in memory unless ``db_file``); a fresh payload keyring unless one is given."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        data_converter=data_converter(keyring or PayloadKeyring.generate()),
        search_attributes=search_attributes.ALL,
        port=port,
        ui=ui,
        dev_server_log_level="error",
        dev_server_extra_args=["--db-filename", str(db_file)] if db_file is not None else [],
    )
