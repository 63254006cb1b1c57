"""The ``ucp-connector`` command line.

User mistakes (bad configuration, busy port, unreadable key file) end with a
one-line message and exit code 2, not a traceback; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from contracts import UcpError
from ucp_connector.commands import keys
from ucp_connector.commands.dev import dev
from ucp_connector.commands.merchant import merchant
from ucp_connector.keyfiles import KeyFileError
from ucp_connector.processes import StackError
from ucp_connector.temporal_binaries import TemporalBinaryMissingError

app = typer.Typer(
    name="ucp-connector",
    help="A durable, signed connector that lets platforms drive UCP checkouts at merchants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(help="Start the whole stack embedded; Ctrl-C stops it.")(dev)
app.add_typer(keys.app, name="keys")
app.command(help="Run the reference merchant (a UCP business server for tests and demos).")(merchant)

USER_ERRORS = (KeyFileError, StackError, TemporalBinaryMissingError, UcpError)


def main() -> None:
    try:
        app()
    except USER_ERRORS as exc:
        message = exc.content if isinstance(exc, UcpError) else str(exc)
        Console(stderr=True).print(f"[bold red]error:[/] {message}")
        sys.exit(2)
