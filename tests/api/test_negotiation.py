"""The create's negotiation in the API (``api/extensions.py::negotiated_merchant``, issue 13).

A create starts its session with the merchant the API negotiated, so the
session runs no discovery activity; the API fetches a profile it has not
cached for at most a short bound, so a hanging merchant profile cannot hold a
create before its session even starts (the session then discovers it itself).
Real HTTP on loopback: a server that accepts the connection and never answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.extensions import negotiated_merchant
from contracts import KeyStore, SigningKey
from core.outbound_http import new_http_client
from core.settings import Settings
from merchants.profiles import ProfileCache


@pytest.mark.timeout(10)  # without the bound the fetch waits for the client's 20 s read timeout
async def test_a_hanging_merchant_profile_does_not_hold_the_create(tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # the connection stays open, the request unanswered

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = {"profile_url": f"http://127.0.0.1:{port}/.well-known/ucp", "allow_insecure_loopback": True}
    settings = Settings(public_base_url="http://127.0.0.1:1", state_dir=tmp_path, merchants={"shop": profile})
    http = new_http_client()
    try:
        found = await negotiated_merchant(
            settings, KeyStore(SigningKey.generate()), ProfileCache(http, settings.merchants), "shop", bound=0.2
        )
    finally:
        await http.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert found is None  # the session's own discovery fetches it, with its retries and codes
