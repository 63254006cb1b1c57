"""A PostgreSQL outage: the API fails closed, loses nothing it accepted, and resumes (issue 12).

The connector's service role reaches a dedicated schema of the machine's
PostgreSQL through a TCP proxy on loopback that the test owns; cutting the
proxy (listener closed, live connections aborted) is the outage — the
cluster itself is never touched. During the cut, what needs the store fails
closed (``503 service_unavailable`` with ``Retry-After``; ``/readyz`` names the
database ``down``), refusals are still answered at once and spooled; after the
restore, reads answer again and every spooled refusal is in the store.
DESIGN invariant 7 (accepted and rejected requests audited), TRN-10.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.settings import StorageSettings
from tests.api.conftest import MERCHANT, ApiUnderTest, running_api
from tests.api.gateway_double import ScriptedGateway
from tests.security.catalogue import attack, control
from tests.storage.backends import PG_HOST, PG_PORT, create_backend, destroy_backend

pytestmark = pytest.mark.postgres
control("abuse_slow_clients")


class CuttableProxy:
    """A loopback TCP proxy to PostgreSQL that can be cut and restored on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(PG_HOST, PG_PORT)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def restore(self) -> None:
        await self.start()


@pytest.fixture
async def proxied_api(tmp_path: Path) -> AsyncIterator[tuple[ApiUnderTest, CuttableProxy]]:
    backend = await create_backend("postgres", tmp_path)
    proxy = CuttableProxy()
    await proxy.start()
    storage = StorageSettings(
        database_url=backend.service_url.replace(f":{PG_PORT}/", f":{proxy.port}/"),
        database_schema=backend.schema,
        redaction_salt_file=tmp_path / "keys" / "redaction-salt.json",
        cursor_secret_file=tmp_path / "keys" / "cursor-secret.json",
    )
    scripted = ScriptedGateway()
    scripted.script("ping", None)
    try:
        async with running_api(tmp_path, gateway=None, scripted=scripted, storage=storage) as api:
            yield api, proxy
    finally:
        with contextlib.suppress(Exception):
            await proxy.restore()
        await destroy_backend(backend, downgrade=False)


OUTAGE = attack("abuse_slow_clients", "requests_during_database_outage", "service_unavailable")


@pytest.mark.parametrize("code", [OUTAGE])
async def test_a_database_outage_fails_closed_loses_nothing_and_resumes(
    proxied_api: tuple[ApiUnderTest, CuttableProxy], code: str
) -> None:
    api, proxy = proxied_api
    assert (await api.send("GET", "/checkout-sessions", signer=api.alpha)).status_code == 200

    await proxy.cut()
    listing = await api.send("GET", "/checkout-sessions", signer=api.alpha)
    assert listing.status_code == 503 and listing.json()["code"] == code, listing.text
    assert int(listing.headers["Retry-After"]) >= 1
    api.assert_signed(listing)
    ready = await api.http.get(api.url + "/readyz")
    assert ready.status_code == 503 and ready.json()["detail"]["database"] == "down"
    refused = [
        await api.send("POST", f"/merchants/{MERCHANT}/checkout-sessions", body=b"{}", idempotency_key=None)
        for _ in range(4)
    ]
    assert [response.status_code for response in refused] == [401] * 4  # answered while the store is down

    await proxy.restore()
    for _ in range(100):  # the pool reconnects on the next checkout of a connection
        if (await api.send("GET", "/checkout-sessions", signer=api.alpha)).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await api.http.get(api.url + "/readyz")).json()["checks"]["database"] == "ok"
    await api.services.rejections.spool.drained()
    page = await api.repository.list_session_events("api:unauthenticated", "unauthenticated", limit=50)
    assert sum(event.error_code == "signature_missing" for event in page.items) == 4
