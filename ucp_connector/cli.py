"""The ``ucp-connector`` command line.

User mistakes (bad configuration, busy port, unreadable key file) end with a
one-line message and exit code 2, not a traceback; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from contracts import UcpError
from core.keyfiles import KeyFileError
from core.settings import ConfigurationError
from ucp_connector.commands import audit, keys, session
from ucp_connector.commands.api import api
from ucp_connector.commands.codec_server import codec_server
from ucp_connector.commands.demo import DemoError, demo
from ucp_connector.commands.dev import dev
from ucp_connector.commands.merchant import merchant
from ucp_connector.commands.migrate import migrate
from ucp_connector.commands.worker import worker
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
app.command(help="Apply the storage migrations (run as the schema owner).")(migrate)
app.add_typer(audit.app, name="audit")
app.add_typer(session.app, name="session")
app.command(help="Run the Temporal worker (checkout workflows and their activities).")(worker)
app.command(help="Serve the signed platform API.")(api)
app.command(name="codec-server", help="Serve the Temporal UI's codec endpoint: decode only, redacted, authenticated.")(
    codec_server
)
app.command(help="Play a platform against the running dev stack (a full checkout, or an escalation).")(demo)
app.command(help="Run the reference merchant (a UCP business server for tests and demos).")(merchant)

USER_ERRORS = (
    ConfigurationError,
    KeyFileError,
    StackError,
    TemporalBinaryMissingError,
    UcpError,
    ValidationError,
    ConnectionError,
    DemoError,
)


def describe(error: Exception) -> str:
    """One readable message for a user mistake; configuration errors name every offending field."""
    if isinstance(error, UcpError):
        return error.content
    if isinstance(error, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}" for item in error.errors()
        ]
        return "invalid configuration:\n  " + "\n  ".join(problems)
    return str(error)


def main() -> None:
    try:
        app()
    except USER_ERRORS as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {describe(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
