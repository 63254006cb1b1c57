"""``ucp-connector api``: serve the signed platform API (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.main import build_app
from ucp_connector.settings import Settings


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
) -> None:
    """Serve the API until SIGINT/SIGTERM. Configuration: env UCP_* and UCP_CONFIG (see README)."""
    app = build_app(Settings())
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
