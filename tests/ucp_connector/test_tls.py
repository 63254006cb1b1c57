"""``ucp-connector keys tls`` and ``outbound_ca_file``: the compose stack's private PKI, over a real TLS handshake.

A server certificate issued by the private CA is served by uvicorn on
loopback; the connector's outbound client trusts it only when the CA is
configured, so HTTPS stays mandatory (DESIGN.md "Merchants", OVR-37) without a
public CA. Private keys are 0600 files (invariant 6) and re-running the
command keeps them.
"""

from __future__ import annotations

import asyncio
import ssl
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
from ucp_connector.commands._http_server import http_config


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


def _tls12_only(ca_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


async def test_served_https_refuses_a_tls12_client(tmp_path: Path) -> None:
    """TRN-02, ORD-16: what the connector serves over HTTPS (api, codec-server) negotiates TLS 1.3 only."""
    tls_dir = tmp_path / "tls"
    assert CliRunner().invoke(app, ["keys", "tls", "--host", "127.0.0.1", "--tls-dir", str(tls_dir)]).exit_code == 0
    sock = bind_loopback()
    cert, key = tls_dir / "127.0.0.1.pem", tls_dir / "127.0.0.1-key.pem"
    config = http_config(_hello(), host="127.0.0.1", port=0, ssl_certfile=cert, ssl_keyfile=key)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    url = f"https://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        async with httpx.AsyncClient(verify=_tls12_only(tls_dir / "ca.pem")) as old:
            with pytest.raises(httpx.ConnectError):
                await old.get(url)
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))) as current:
            response = await current.get(url)
            assert response.status_code == 200
            assert response.extensions["network_stream"].get_extra_info("ssl_object").version() == "TLSv1.3"
    finally:
        server.should_exit = True
        await task


async def test_outbound_client_refuses_a_tls12_only_server(tmp_path: Path) -> None:
    """TRN-02: the connector calls merchants and platforms over TLS >= 1.3; a TLS 1.2-only peer fails the handshake."""
    tls_dir = tmp_path / "tls"
    assert CliRunner().invoke(app, ["keys", "tls", "--host", "127.0.0.1", "--tls-dir", str(tls_dir)]).exit_code == 0
    sock = bind_loopback()
    config = uvicorn.Config(
        _hello(),
        log_level="warning",
        ssl_certfile=str(tls_dir / "127.0.0.1.pem"),
        ssl_keyfile=str(tls_dir / "127.0.0.1-key.pem"),
        lifespan="off",
    )
    config.load()
    assert config.ssl is not None
    config.ssl.maximum_version = ssl.TLSVersion.TLSv1_2
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    url = f"https://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        client = new_http_client(ca_file=tls_dir / "ca.pem")
        try:
            with pytest.raises(httpx.ConnectError):
                await client.get(url)
        finally:
            await client.aclose()
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))) as lenient:
            assert (await lenient.get(url)).status_code == 200  # the server itself is fine: the refusal is ours
    finally:
        server.should_exit = True
        await task
