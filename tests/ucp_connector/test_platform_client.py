"""``PlatformClient``: signs, retries with the same Idempotency-Key, returns only answers that verify (issue 16.6).

The peer is a small loopback server that plays the connector's protocol
(signed answers, ``/.well-known/ucp`` with ``signing_keys``, ``202
operation_pending`` with ``Retry-After``) so each rule can be driven on
purpose; tests/e2e/test_platform_client.py drives the real connector. Requests
are checked with ``verify_request`` against the platform's public key as the
connector does. Covers SIG-11, SIG-16..21, SIG-32, IDM-01, IDM-02, TRN-10.
"""

from __future__ import annotations

import ast
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts import KeyStore, SigningKey, parse_ucp_agent, sign_response, signed_target_uri, text_headers
from contracts import verify_request as verify_platform_request
from tests.fixtures.bodies import checkout_document
from tests.fixtures.http import bind_loopback, serve
from ucp_connector import client as client_module
from ucp_connector.client import ConnectorError, PlatformClient, ResponseNotSignedError, RetryPolicy

PLATFORM_KEY = SigningKey.generate(kid="platform-1")
PROFILE = "https://agent.example/.well-known/ucp"
FAST = RetryPolicy(attempts=5, first_delay=0.01, max_delay=0.05, total_seconds=10)
CHECKOUT = checkout_document(id="cs_test")


@dataclass
class StandIn:
    """Answers scripted (status, signed?) in order; records each request's key and digest after verifying it."""

    keys: KeyStore = field(default_factory=lambda: KeyStore(SigningKey.generate(kid="connector-1")))
    script: list[tuple[int, bool]] = field(default_factory=list)
    seen: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    profile_reads: int = 0

    async def profile(self, request: Request) -> Response:
        self.profile_reads += 1
        return self._answer(200, {"signing_keys": self.keys.jwks.to_dict()["keys"]}, signed=True)

    async def operation(self, request: Request) -> Response:
        body = await request.body()
        headers = text_headers(request.scope["headers"])
        verify_platform_request(
            method=request.method,
            url=signed_target_uri(str(request.base_url), request.scope),
            headers=headers,
            body=body or None,
            keys=KeyStore(PLATFORM_KEY).jwks,
        )
        agent = request.headers.get("ucp-agent")
        assert agent is not None and parse_ucp_agent(agent, business=False) == PROFILE
        self.seen.append(
            (request.headers.get("idempotency-key"), request.headers.get("content-digest"), request.method)
        )
        status, signed = self.script.pop(0) if self.script else (200, True)
        if status == 202:
            document: dict[str, Any] = {"code": "operation_pending", "content": "replay the request"}
        elif status >= 400:
            document = {"code": "service_unavailable" if status >= 500 else "not_found", "content": "no"}
        else:
            document = CHECKOUT
        return self._answer(status, document, signed=signed, retry_after=status in (202, 503))

    def _answer(self, status: int, document: Any, *, signed: bool, retry_after: bool = False) -> Response:
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json"}
        if retry_after:
            headers["Retry-After"] = "1"
        if signed:
            headers.update(sign_response(status=status, headers=headers, body=body, key=self.keys.active))
        return Response(body, status_code=status, headers=headers)


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, str]]:
    peer = StandIn()
    app = Starlette(
        routes=[
            Route("/.well-known/ucp", peer.profile, methods=["GET"]),
            Route("/{path:path}", peer.operation, methods=["GET", "POST", "PUT"]),
        ]
    )
    async with serve(app, bind_loopback()) as url:
        yield peer, url


def _client(url: str, **options: Any) -> PlatformClient:
    return PlatformClient(url, PLATFORM_KEY, profile_url=PROFILE, retry=FAST, **options)


async def test_pending_operations_are_replayed_with_the_same_key_and_bytes(stand_in: tuple[StandIn, str]) -> None:
    """IDM-01/02: a 202 operation_pending (TRN-10 Retry-After) is replayed as the same operation, not a new one."""
    peer, url = stand_in
    peer.script = [(202, True), (503, True), (201, True)]
    async with _client(url) as platform:
        checkout = await platform.create_checkout("shop", {"line_items": [{"item": {"id": "a"}, "quantity": 1}]})
    assert checkout.id == "cs_test"
    keys = {key for key, _, _ in peer.seen}
    digests = {digest for _, digest, _ in peer.seen}
    assert len(peer.seen) == 3 and len(keys) == 1 and len(digests) == 1 and None not in keys, peer.seen


async def test_an_unsigned_gateway_error_is_retried_but_never_returned(stand_in: tuple[StandIn, str]) -> None:
    peer, url = stand_in
    peer.script = [(503, False), (200, True)]
    async with _client(url) as platform:
        response = await platform.request("GET", "/checkout-sessions")
    assert response.status_code == 200 and response.attempts == 2
    peer.script = [(503, False)] * 5
    async with _client(url) as platform:
        with pytest.raises(ResponseNotSignedError, match="HTTP 503"):
            await platform.request("GET", "/checkout-sessions")


async def test_an_unsigned_or_foreign_signed_answer_is_an_error_not_data(stand_in: tuple[StandIn, str]) -> None:
    """SIG-21: the answer must carry the connector's signature; a 200 without one is refused."""
    peer, url = stand_in
    peer.script = [(200, False)]
    async with _client(url) as platform:
        with pytest.raises(ResponseNotSignedError, match="does not verify"):
            await platform.get_checkout("shop", "cs_test")
    foreign = KeyStore(SigningKey.generate(kid="connector-1"))  # same kid, another key
    async with _client(url, connector_keys=foreign.jwks) as platform:
        with pytest.raises(ResponseNotSignedError):
            await platform.get_checkout("shop", "cs_test")


async def test_a_rotated_connector_key_is_learned_once_from_the_profile(stand_in: tuple[StandIn, str]) -> None:
    """SIG-11: an answer signed with a kid the client has not seen re-reads /.well-known/ucp once."""
    peer, url = stand_in
    async with _client(url) as platform:
        await platform.get_checkout("shop", "cs_test")
        assert peer.profile_reads == 1
        peer.keys = peer.keys.rotate(SigningKey.generate(kid="connector-2"))
        platform._keys_read_at = float("-inf")  # the client's once-a-minute budget, spent long ago
        checkout = await platform.get_checkout("shop", "cs_test")
        assert checkout.id == "cs_test" and peer.profile_reads == 2
        assert (await platform.published_keys()).find("connector-2") is not None


async def test_an_error_answer_raises_with_its_frozen_code(stand_in: tuple[StandIn, str]) -> None:
    peer, url = stand_in
    peer.script = [(404, True)]
    async with _client(url) as platform:
        with pytest.raises(ConnectorError) as failure:
            await platform.get_checkout("shop", "cs_nope")
    assert failure.value.status == 404 and failure.value.code == "not_found"


class _DropFirstConnection(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/.well-known/ucp" and not self.dropped:
            self.dropped += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_connection_failure_is_retried(stand_in: tuple[StandIn, str]) -> None:
    peer, url = stand_in
    transport = _DropFirstConnection()
    async with _client(url, transport=transport) as platform:
        response = await platform.request("POST", "/x", {"a": 1})
    assert transport.dropped == 1 and response.attempts == 2 and len(peer.seen) == 1


def test_the_client_depends_on_contracts_only() -> None:
    """A platform can vendor it: stdlib, httpx, pydantic and contracts, nothing else of the connector."""
    tree = ast.parse(Path(client_module.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if not isinstance(node, ast.ImportFrom) or node.module
    }
    project = {"core", "storage", "merchants", "activities", "workflows", "worker", "api", "ucp_connector"}
    assert imported & project == set(), imported
    assert "contracts" in imported and "httpx" in imported
