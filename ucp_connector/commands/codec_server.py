"""``ucp-connector codec-server``: the Temporal UI's codec endpoint, decode-only and redacting (uvicorn).

Point the Temporal UI at it (``temporal server start-dev --ui-codec-endpoint``,
or ``TEMPORAL_CODEC_ENDPOINT`` for the ``temporalio/ui`` image; ``dev`` and
docker-compose do so). Configuration is the ``[codec_server]`` section
(``core/codec_server_settings.py``): ``auth = "none"`` binds to loopback only,
``oidc`` needs HTTPS in front or ``--ssl-certfile`` (the UI sends access tokens
to https endpoints only), ``proxy`` trusts the user header of the configured
proxy addresses. Every decode and refusal is logged (``codec.decode`` /
``codec.refused``): who, which workflows, when.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import structlog
import typer

from core.logging import configure_logging, salt_from_settings
from core.outbound_http import new_http_client
from core.settings import load_settings
from core.temporal.codec_server import build_codec_app
from ucp_connector.commands._http_server import check_tls_pair, run_http

SERVICE_NAME = "ucp-connector-codec-server"


def codec_server(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: codec_server.host).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: codec_server.port).")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="Private key (PEM, 0600) of --ssl-certfile.")] = None,
) -> None:
    """Serve /decode for the Temporal UI until SIGINT/SIGTERM."""
    check_tls_pair(ssl_certfile, ssl_keyfile)
    settings = load_settings(codec_server={"host": host, "port": port})
    section = settings.codec_server
    configure_logging(SERVICE_NAME, salt=salt_from_settings(settings))
    app = build_codec_app(settings, http=new_http_client(ca_file=settings.outbound_ca_file))
    structlog.get_logger(__name__).info(
        "codec_server.started",
        host=section.host,
        port=section.port,
        auth=section.auth,
        allowed_origins=settings.codec_allowed_origins,
    )
    run_http(app, host=section.host, port=section.port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
