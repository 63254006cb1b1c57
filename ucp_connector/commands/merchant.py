"""``ucp-connector merchant``: run the reference merchant (a real UCP business server) on this machine.

Same server as ``python -m reference_merchant``, plus what the connector's CLI
owns: the merchant's signing key is kept in a 0600 key file
(``--keys-dir``/merchant-signing.json, created on first run), so a restarted
merchant keeps its identity; ``ucp-connector keys``-style rotation applies to
that file. Logs are the connector's JSON lines (``core.logging``, with a
per-process redaction salt: the merchant has no connector key files), and
tracing follows ``UCP_OTEL_EXPORTER`` (server spans continue the connector's
trace from its ``traceparent``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from core.keyfiles import create_signing_keyring, ensure_private_dir, load_signing_keyring
from core.logging import configure_logging
from core.telemetry import configure_tracing, instrument_app, shutdown_tracing
from reference_merchant.releases import DEFAULT_VERSION, VERSIONS
from reference_merchant.server import build_config, serve

UcpRelease = StrEnum("UcpRelease", {version.replace("-", "_"): version for version in VERSIONS})  # type: ignore[misc]

MERCHANT_KEY_FILE = "merchant-signing.json"
SERVICE_NAME = "reference-merchant"


def merchant(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    db: Annotated[Path | None, typer.Option(help="SQLite file for the merchant's state (default: in memory).")] = None,
    config: Annotated[Path | None, typer.Option(help="Merchant configuration (.json or .toml).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Public origin (default http(s)://HOST:PORT).")] = None,
    allow_insecure_loopback: Annotated[
        bool, typer.Option(help="Accept plain http for loopback addresses (dev and tests only).")
    ] = False,
    trust_platform: Annotated[
        list[str] | None, typer.Option(help="Profile URL of a platform to accept requests from (repeatable).")
    ] = None,
    keys_dir: Annotated[
        Path, typer.Option(envvar="UCP_MERCHANT_KEYS_DIR", help="Directory of the merchant's 0600 key file.")
    ] = Path(".ucp/merchant-keys"),
    ssl_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    ucp_version: Annotated[
        UcpRelease | None,
        typer.Option(help=f"The UCP release to speak (default: the configuration's, else {DEFAULT_VERSION})."),
    ] = None,
    supported_version: Annotated[
        list[UcpRelease] | None,
        typer.Option(help="An older release also served through a version-specific profile (repeatable)."),
    ] = None,
) -> None:
    """Run the reference merchant until Ctrl-C."""
    configure_logging(SERVICE_NAME)
    try:
        settings = build_config(
            host=host,
            port=port,
            config_file=config,
            database=db,
            base_url=base_url,
            allow_insecure_loopback=allow_insecure_loopback,
            trusted_platforms=trust_platform or [],
            tls=bool(ssl_certfile),
            ucp_version=ucp_version.value if ucp_version else None,
            supported_versions=[version.value for version in supported_version or []],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(
            f"{'.'.join(str(p) for p in first['loc']) or 'configuration'}: {first['msg']}"
        ) from exc
    key_file = ensure_private_dir(keys_dir) / MERCHANT_KEY_FILE
    keys = load_signing_keyring(key_file) if key_file.exists() else create_signing_keyring(key_file)
    typer.echo(
        f"reference merchant at {settings.base_url} (UCP {settings.ucp_version}, profile {settings.profile_url}, "
        f"kid {keys.active.kid})"
    )
    configure_tracing(SERVICE_NAME)
    try:
        serve(
            settings,
            host=host,
            port=port,
            keys=keys,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            own_logging=False,
            instrument=instrument_app,
        )
    finally:
        shutdown_tracing()
