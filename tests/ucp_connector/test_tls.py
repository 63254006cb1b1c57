"""``ucp-connector keys tls`` and ``outbound_ca_file``: the compose stack's private PKI, over a real TLS handshake.

A server certificate issued by the private CA is served by uvicorn on
loopback; the connector's outbound client trusts it only when the CA is
configured, so HTTPS stays mandatory (DESIGN.md "Merchants", OVR-37) without a
public CA. Private keys are 0600 files (invariant 6) and re-running the
command keeps them.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from typer.testing import CliRunner

from core.outbound_http import new_http_client
from tests.fixtures.http import bind_loopback
from ucp_connector.cli import app


def _hello() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello over tls")

    return Starlette(routes=[Route("/", hello)])


async def _serve_tls(cert: Path, key: Path) -> tuple[uvicorn.Server, str, asyncio.Task[None]]:
    sock = bind_loopback()
    server = uvicorn.Server(
        uvicorn.Config(_hello(), log_level="warning", ssl_certfile=str(cert), ssl_keyfile=str(key), lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    return server, f"https://127.0.0.1:{sock.getsockname()[1]}/", task


async def test_private_ca_certificates_serve_https_that_only_the_configured_client_trusts(tmp_path: Path) -> None:
    """keys tls issues CA + server certs (0600 keys, idempotent); outbound_ca_file makes them verify."""
    tls_dir = tmp_path / "tls"
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "tls", "--host", "127.0.0.1", "--host", "merchant", "--tls-dir", str(tls_dir)])
    assert first.exit_code == 0, first.output
    key_bytes = (tls_dir / "127.0.0.1-key.pem").read_bytes()
    again = runner.invoke(app, ["keys", "tls", "--host", "127.0.0.1", "--tls-dir", str(tls_dir)])
    assert again.exit_code == 0 and "already present" in again.output
    assert (tls_dir / "127.0.0.1-key.pem").read_bytes() == key_bytes
    for private in ("ca-key.pem", "127.0.0.1-key.pem", "merchant-key.pem"):
        assert stat.S_IMODE((tls_dir / private).stat().st_mode) == 0o600, private
    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700

    server, url, task = await _serve_tls(tls_dir / "127.0.0.1.pem", tls_dir / "127.0.0.1-key.pem")
    try:
        trusted = new_http_client(ca_file=tls_dir / "ca.pem")
        try:
            response = await trusted.get(url)
            assert response.status_code == 200 and response.text == "hello over tls"
        finally:
            await trusted.aclose()
        public_roots_only = new_http_client()
        try:
            with pytest.raises(httpx.ConnectError):
                await public_roots_only.get(url)
        finally:
            await public_roots_only.aclose()
    finally:
        server.should_exit = True
        await task
