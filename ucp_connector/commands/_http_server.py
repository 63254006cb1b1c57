"""How the CLI's HTTP services run under uvicorn: our logging chain, no proxy headers, optional TLS.

``api`` and ``codec-server`` share it, so both log through ``core.logging``
(uvicorn's own configuration and access log off) and both refuse half a TLS
configuration the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import uvicorn


def check_tls_pair(ssl_certfile: Path | None, ssl_keyfile: Path | None) -> None:
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")


def run_http(
    app: Any, *, host: str, port: int, ssl_certfile: Path | None, ssl_keyfile: Path | None, **options: Any
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``X-Forwarded-*`` is never believed (``proxy_headers=False``).

    ``options`` go to uvicorn as they are (the API's bounded protocol and timeouts: ``api.front_door``).
    """
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
        **options,
    )
