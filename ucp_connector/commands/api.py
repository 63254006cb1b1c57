"""``ucp-connector api``: serve the signed platform API (uvicorn).

Logs are JSON lines on stderr (``core.logging``; uvicorn's own loggers
included, its access log replaced by ours); tracing follows ``UCP_OTEL_EXPORTER``
(``core.telemetry``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from api.main import build_app
from core.logging import configure_logging, salt_from_settings
from core.settings import load_settings
from core.telemetry import configure_tracing, shutdown_tracing

SERVICE_NAME = "ucp-connector-api"


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    ssl_certfile: Annotated[Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="Private key (PEM, 0600) of --ssl-certfile.")] = None,
) -> None:
    """Serve the API until SIGINT/SIGTERM. Configuration: env UCP_* and UCP_CONFIG (see README)."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")
    settings = load_settings()
    configure_logging(SERVICE_NAME, salt=salt_from_settings(settings))
    configure_tracing(SERVICE_NAME)
    app = build_app(settings)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            log_level=None,
            access_log=False,
            proxy_headers=False,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )
    finally:
        shutdown_tracing()
