"""The security catalogue runs against the same loopback API as tests/api (real uvicorn, real SQLite store)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.front_door import FrontDoorLimits
from contracts import KeyStore, verify_response
from tests.api.conftest import ApiUnderTest, api, running_api, scripted  # noqa: F401 (fixtures)
from tests.api.gateway_double import ScriptedGateway

# Short bounds, so a slow client is cut within a second or two (the production defaults are seconds more).
TIGHT = FrontDoorLimits(header_seconds=0.5, body_seconds=1.0, keep_alive_seconds=1, max_connections=6)


@pytest.fixture
async def tight_api(tmp_path: Path, scripted: ScriptedGateway) -> AsyncIterator[ApiUnderTest]:  # noqa: F811
    """The API with tight front-door limits (``TIGHT``)."""
    async with running_api(tmp_path, gateway=None, scripted=scripted, limits=TIGHT) as running:
        yield running


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name), None)


def parse_raw(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    return RawResponse(status, headers, body)


def assert_signed_raw(response: RawResponse, keys: KeyStore) -> None:
    verify_response(status=response.status, headers=response.headers, body=response.body or None, keys=keys)


@contextlib.asynccontextmanager
async def raw_connection(url: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    target = urlsplit(url)
    reader, writer = await asyncio.open_connection(target.hostname, target.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def read_until_closed(reader: asyncio.StreamReader, bound: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (``TimeoutError`` past ``bound``: still open)."""
    return await asyncio.wait_for(reader.read(), bound)


def host_of(url: str) -> str:
    return str(urlsplit(url).netloc)
