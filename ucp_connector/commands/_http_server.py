"""How the CLI's HTTP services run under uvicorn: our logging chain, no proxy headers, optional TLS 1.3.

``api`` and ``codec-server`` share it, so both log through ``core.logging``
(uvicorn's own configuration and access log off), both refuse half a TLS
configuration the same way, and both refuse a TLS 1.2 client: UCP's REST
endpoints are served over TLS >= 1.3 (TRN-02, ORD-16), and uvicorn has no
option for a minimum version, so the loaded SSL context is tightened here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import uvicorn

from core.outbound_http import MINIMUM_TLS_VERSION


def check_tls_pair(ssl_certfile: Path | None, ssl_keyfile: Path | None) -> None:
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")


def http_config(
    app: Any, *, host: str, port: int, ssl_certfile: Path | None, ssl_keyfile: Path | None, **options: Any
) -> uvicorn.Config:
    """The loaded uvicorn configuration; with a certificate, its context accepts TLS 1.3 only.

    ``options`` go to uvicorn as they are (the API's bounded protocol and timeouts: ``api.front_door``).
    """
    config = uvicorn.Config(
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
    config.load()
    if config.ssl is not None:
        config.ssl.minimum_version = MINIMUM_TLS_VERSION
    return config


def run_http(
    app: Any, *, host: str, port: int, ssl_certfile: Path | None, ssl_keyfile: Path | None, **options: Any
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``X-Forwarded-*`` is never believed (``proxy_headers=False``)."""
    config = http_config(app, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, **options)
    uvicorn.Server(config).run()
