"""``ucp-connector api``: serve the signed platform API (uvicorn).

Logs are JSON lines on stderr (``core.logging``; uvicorn's own loggers
included, its access log replaced by ours); connections are bounded by
``api.front_door`` (header and body deadlines, keep-alive idle time, a
connection cap, malformed HTTP answered in the frozen error shape); tracing follows ``UCP_OTEL_EXPORTER``
(``core.telemetry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.dependencies import services_of
from api.front_door import server_options
from api.main import build_app
from core.logging import configure_logging, salt_from_settings
from core.settings import load_settings
from core.telemetry import configure_tracing, shutdown_tracing
from ucp_connector.commands._http_server import check_tls_pair, run_http

SERVICE_NAME = "ucp-connector-api"


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    ssl_certfile: Annotated[Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="Private key (PEM, 0600) of --ssl-certfile.")] = None,
) -> None:
    """Serve the API until SIGINT/SIGTERM. Configuration: env UCP_* and UCP_CONFIG (see README)."""
    check_tls_pair(ssl_certfile, ssl_keyfile)
    settings = load_settings()
    configure_logging(SERVICE_NAME, salt=salt_from_settings(settings))
    configure_tracing(SERVICE_NAME)
    app = build_app(settings)
    try:
        run_http(
            app,
            host=host,
            port=port,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            **server_options(services_of(app).keys),
        )
    finally:
        shutdown_tracing()
