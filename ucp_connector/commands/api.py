"""``ucp-connector api``: serve the signed platform API (uvicorn).

Logs are JSON lines on stderr (``ucp_connector.logging``; uvicorn's own loggers
included, its access log replaced by ours); tracing follows ``UCP_OTEL_EXPORTER``
(``ucp_connector.telemetry``).
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.main import build_app
from ucp_connector.logging import configure_logging, salt_from_settings
from ucp_connector.settings import Settings
from ucp_connector.telemetry import configure_tracing, shutdown_tracing

SERVICE_NAME = "ucp-connector-api"


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
) -> None:
    """Serve the API until SIGINT/SIGTERM. Configuration: env UCP_* and UCP_CONFIG (see README)."""
    settings = Settings()
    configure_logging(SERVICE_NAME, salt=salt_from_settings(settings.storage))
    configure_tracing(SERVICE_NAME)
    app = build_app(settings)
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, log_level=None, access_log=False, proxy_headers=False)
    finally:
        shutdown_tracing()
