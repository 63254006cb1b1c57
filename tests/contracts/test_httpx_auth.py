"""``RequestSigner``: an httpx client call made with it is signed over what is actually sent (SIG-16..19).

A loopback server rebuilds the target URL from the raw, still-encoded request
line (``signed_target_uri``) and verifies with the signer's public key, as any
UCP peer does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts import KeyStore, SignatureError, SigningKey, signed_target_uri, text_headers, verify_request
from contracts.httpx_auth import RequestSigner
from tests.fixtures.http import bind_loopback, serve

KEYS = KeyStore(SigningKey.generate())


async def _verifier(request: Request) -> JSONResponse:
    body = await request.body()
    url = signed_target_uri(f"http://127.0.0.1:{request.url.port}", request.scope)
    try:
        verified = verify_request(
            method=request.method, url=url, headers=text_headers(request.scope["headers"]), body=body or None, keys=KEYS
        )
    except SignatureError as error:
        return JSONResponse({"error": error.code.value}, status_code=401)
    return JSONResponse({"kid": verified.key.kid, "covered": list(verified.covered_components)})


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/{path:path}", _verifier, methods=["GET", "POST"])])
    async with serve(app, bind_loopback()) as url:
        yield url


async def test_a_post_with_body_and_query_is_signed_over_the_encoded_request(server: str) -> None:
    """@path/@query are the encoded bytes on the wire, so a path httpx percent-encodes still verifies."""
    async with httpx.AsyncClient(auth=RequestSigner(KEYS)) as http:
        response = await http.post(
            f"{server}/orders/a b?x=1 2",
            content=b'{"a":1}',
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": "k-1",
                "UCP-Agent": 'profile="https://platform.example/.well-known/ucp"',
            },
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "kid": KEYS.active.kid,
        "covered": [
            "@method",
            "@authority",
            "@path",
            "@query",
            "ucp-agent",
            "idempotency-key",
            "content-digest",
            "content-type",
        ],
    }


async def test_a_get_without_body_covers_no_digest(server: str) -> None:
    async with httpx.AsyncClient(auth=RequestSigner(KEYS)) as http:
        response = await http.get(f"{server}/checkout-sessions/chk_1")
    assert response.status_code == 200 and response.json()["covered"] == ["@method", "@authority", "@path"]


async def test_without_the_signer_the_same_call_is_refused(server: str) -> None:
    """The control: the server really verifies (an unsigned request is signature_missing)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server}/checkout-sessions/chk_1")
    assert response.status_code == 401 and response.json() == {"error": "signature_missing"}
