"""Merchants on loopback for merchants/ tests: the real reference merchant, and an edge merchant for hostile answers.

* :func:`reference_shop` serves the real :class:`~reference_merchant.ReferenceMerchant`
  trusting the connector's key inline (as tests/fixtures/connector_stack.py does).
* :class:`EdgeMerchant` is a small Starlette app that plays a merchant whose
  answers a test dictates: status, body, content type, which key signs (or none),
  a tampered body, a slow answer, which keys its profile publishes. It verifies
  every request it receives with the connector's keys and records the result, so
  tests see what the connector really sent.

Both are reached over real HTTP; the connector side is the real
``ProfileCache`` + ``MerchantClient`` with a clock the test moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts import (
    KeyStore,
    SignatureError,
    SigningKey,
    VerifiedSignature,
    canonical_json,
    sign_response,
    signed_target_uri,
    text_headers,
    verify_request,
)
from core.outbound_http import new_http_client
from core.settings import MerchantSettings
from merchants.client import MerchantClient
from merchants.profiles import ProfileCache
from reference_merchant import ManualClock, MerchantConfig, ReferenceMerchant
from reference_merchant.discovery import business_profile
from tests.fixtures.bodies import checkout_document
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT, trusted_connector
from tests.fixtures.http import bind_loopback, serve, url_of


class Clock:
    """The profile cache's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Reply:
    """What the edge merchant answers to the next UCP request."""

    status: int = 200
    body: bytes = field(default_factory=lambda: canonical_json(checkout_document()))
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    signed: bool = True  # signed with EdgeMerchant.signer
    tamper: bool = False  # change the body after signing
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    verified: VerifiedSignature | None
    error: str | None  # the SignatureError code when our request did not verify


@dataclass
class EdgeMerchant:
    url: str
    connector_keys: KeyStore
    signer: SigningKey
    published: list[SigningKey]
    endpoint: str = ""
    edit_profile: Callable[[dict[str, Any]], None] | None = None
    reply: Reply = field(default_factory=Reply)
    profile_status: int = 200
    profile_hits: int = 0
    received: list[Received] = field(default_factory=list)

    def profile(self) -> dict[str, Any]:
        document = business_profile(
            MerchantConfig(base_url=self.url, allow_insecure_loopback=True), KeyStore(self.signer)
        )
        document["signing_keys"] = [key.public_jwk.to_dict() for key in self.published]
        if self.endpoint:
            document["ucp"]["services"]["dev.ucp.shopping"][0]["endpoint"] = self.endpoint
        if self.edit_profile is not None:
            self.edit_profile(document)
        return document

    def app(self) -> Starlette:
        async def well_known(request: Request) -> Response:
            self.profile_hits += 1
            if self.profile_status != 200:
                return JSONResponse({"code": "down"}, status_code=self.profile_status)
            return JSONResponse(self.profile())

        async def ucp(request: Request) -> Response:
            body = await request.body()
            self.received.append(self._verify_ours(request, body))
            reply = self.reply
            if reply.delay:
                await asyncio.sleep(reply.delay)
            headers = {"Content-Type": reply.content_type, **reply.headers}
            if reply.signed:
                headers.update(sign_response(status=reply.status, headers=headers, body=reply.body, key=self.signer))
            sent = reply.body + b" " if reply.tamper else reply.body
            return Response(sent, status_code=reply.status, headers=headers)

        methods = ["GET", "POST", "PUT"]
        return Starlette(
            routes=[Route("/.well-known/ucp", well_known), Route("/ucp/v1/{rest:path}", ucp, methods=methods)]
        )

    def _verify_ours(self, request: Request, body: bytes) -> Received:
        headers = text_headers(request.scope["headers"])
        url = signed_target_uri(self.url, request.scope)
        verified: VerifiedSignature | None = None
        error: str | None = None
        try:
            verified = verify_request(
                method=request.method, url=url, headers=headers, body=body or None, keys=self.connector_keys
            )
        except SignatureError as exc:
            error = exc.code.value
        return Received(request.method, request.url.path, dict(request.headers), body, verified, error)


@dataclass
class Connector:
    """The connector's merchant side: the real profile cache and client, over a real HTTP client."""

    keys: KeyStore
    clock: Clock
    profiles: ProfileCache
    client: MerchantClient
    http: httpx.AsyncClient


@contextlib.asynccontextmanager
async def connector_for(
    merchant_url: str, keys: KeyStore, *, http_timeout: httpx.Timeout | None = None
) -> AsyncIterator[Connector]:
    clock = Clock()
    http = new_http_client(http_timeout) if http_timeout is not None else new_http_client()
    merchants = {
        MERCHANT: MerchantSettings(profile_url=f"{merchant_url}/.well-known/ucp", allow_insecure_loopback=True)
    }
    profiles = ProfileCache(http, merchants, clock=clock)
    try:
        yield Connector(keys, clock, profiles, MerchantClient(http, profiles, keys, CONNECTOR_BASE), http)
    finally:
        await http.aclose()


@contextlib.asynccontextmanager
async def edge_merchant(connector_keys: KeyStore) -> AsyncIterator[EdgeMerchant]:
    sock = bind_loopback()
    signer = SigningKey.generate()
    merchant = EdgeMerchant(url=url_of(sock), connector_keys=connector_keys, signer=signer, published=[signer])
    async with serve(merchant.app(), sock):
        yield merchant


@contextlib.asynccontextmanager
async def reference_shop(connector_keys: KeyStore) -> AsyncIterator[ReferenceMerchant]:
    """The real reference merchant on loopback, trusting the connector's profile URL and (inline) keys."""
    sock = bind_loopback()
    merchant = ReferenceMerchant(
        MerchantConfig(
            base_url=url_of(sock),
            allow_insecure_loopback=True,
            async_completion_seconds=0,
            run_background_tasks=False,
            platforms=[trusted_connector(connector_keys, MERCHANT)],
        ),
        clock=ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0)),
    )
    async with serve(merchant.asgi, sock):
        yield merchant
