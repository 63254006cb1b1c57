"""The codec server: Temporal's remote-codec protocol, ``/decode`` only, redacted, for the Temporal UI.

Protocol (temporalio/samples-go ``codec-server/protocol.md``): ``POST
{endpoint}/decode`` with ``{"payloads": [...]}`` — a ``Payloads`` message in
protobuf JSON — answered with the same number of payloads; only the last path
segment counts, so it can be mounted under any prefix. The Temporal UI sends
``X-Namespace`` and, with "pass access token", ``Authorization: Bearer``.

What this server adds to the protocol, and why:

* **decode only** — ``/encode`` is not offered (404): nobody outside the
  connector may make payloads that our workers would decrypt as their own;
* **redacted** — the answer is ``redacted_view``'s, never the raw plaintext:
  credentials and tokens do not leave, e-mail and phone are salted hashes;
* **browser origins** — a request carrying an ``Origin`` other than the
  configured Temporal UI origin(s) is refused with 403 (preflight included),
  so another site open in the operator's browser cannot use it; requests
  without ``Origin`` (the ``temporal`` CLI's ``--codec-endpoint``) pass to
  authentication like any other;
* **operators only** — every decode is authenticated (``authentication``); a
  request that carries no encrypted payload at all (the UI decoding summaries,
  which are plain UI text) is answered as it came, without authentication:
  nothing is decrypted, so nothing is revealed;
* **audited** — each decode, and each refusal, is one structured log line
  ``codec.decode`` / ``codec.refused`` with the operator, the namespace, the
  workflow ids the payloads are bound to (``core.temporal.codec``), the number
  of payloads and the time. A log and not the audit store: the store's hash
  chains are per checkout session and their sequence numbers are assigned by
  the session's workflow, so a second writer would break the ``(session, seq)``
  idempotency, and an operator's read is not an event of the session. Ship
  these lines to the same place as the other operator logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import structlog
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from contracts import Redactor
from core.temporal.codec import ENCODING, EncryptionCodec
from core.temporal.codec_server.authentication import BEARER_CHALLENGE, Authenticator
from core.temporal.codec_server.oidc import AuthenticationError, IssuerUnavailableError
from core.temporal.codec_server.redacted_view import redacted_view

MAX_PAYLOADS: Final = 2000
ALLOWED_HEADERS: Final = ("Content-Type", "X-Namespace", "Authorization", "Authorization-Extras")
NO_STORE: Final = {"Cache-Control": "no-store"}
audit = structlog.get_logger("ucp.codec_server.audit")


class OriginGuard:
    """Refuse any request whose ``Origin`` is not an allowed one, before CORS or the route sees it."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.rstrip("/") for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = dict(scope["headers"]).get(b"origin")
            if origin is not None and origin.decode("latin-1").rstrip("/") not in self.allowed:
                audit.warning("codec.refused", reason="origin_not_allowed", origin=origin.decode("latin-1")[:200])
                body = {
                    "error": "origin_not_allowed",
                    "content": "this codec server serves the configured Temporal UI only",
                }
                await JSONResponse(body, status_code=403, headers=NO_STORE)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CodecServer:
    def __init__(
        self, codec: EncryptionCodec, redactor: Redactor, authenticator: Authenticator, *, max_body_bytes: int
    ) -> None:
        self._codec = codec
        self._redactor = redactor
        self._authenticator = authenticator
        self._max_body_bytes = max_body_bytes

    async def decode(self, request: Request) -> Response:
        namespace = request.headers.get("x-namespace", "")[:128] or None
        where = {"namespace": namespace, "origin": request.headers.get("origin"), "peer": _peer(request)}
        payloads = await self._payloads(request)
        if isinstance(payloads, Response):
            return payloads
        if not any(payload.metadata.get("encoding") == ENCODING for payload in payloads.payloads):
            # Nothing to decrypt (the UI sends summaries, which are plain, through the codec too): the
            # answer is the request itself, so it needs no operator — and keeps summaries readable for
            # a UI user whose codec sign-in lapsed. Not redacted either: no salted hash for the asking.
            return _payloads_response(list(payloads.payloads))
        try:
            operator = await self._authenticator.authenticate(request)
        except AuthenticationError as error:
            audit.warning("codec.refused", reason=error.reason, **where)
            body = {"error": "unauthenticated", "content": error.reason}
            return JSONResponse(body, status_code=401, headers={**NO_STORE, "WWW-Authenticate": BEARER_CHALLENGE})
        except IssuerUnavailableError as error:
            audit.error("codec.refused", reason="issuer_unavailable", detail=str(error)[:300], **where)
            body = {"error": "issuer_unavailable", "content": "cannot verify tokens now"}
            return JSONResponse(body, status_code=503, headers=NO_STORE)
        view = await redacted_view(self._codec, self._redactor, payloads.payloads)
        audit.info(
            "codec.decode",
            operator=operator.subject,
            auth=operator.method,
            issuer=operator.issuer,
            workflow_ids=sorted(view.workflow_ids)[:50],
            payloads=len(payloads.payloads),
            undecryptable=view.undecryptable,
            withheld=view.withheld,
            **where,
        )
        return _payloads_response(view.payloads)

    async def _payloads(self, request: Request) -> Payloads | Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            return _bad_request(413, "payload_too_large", f"at most {self._max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body_bytes:
                return _bad_request(413, "payload_too_large", f"at most {self._max_body_bytes} bytes")
        try:
            parsed = json_format.Parse(bytes(body), Payloads())
        except (json_format.ParseError, UnicodeDecodeError, ValueError) as error:
            return _bad_request(400, "invalid_payloads", f"expected {{'payloads': [...]}} as protobuf JSON: {error}")
        if len(parsed.payloads) > MAX_PAYLOADS:
            return _bad_request(400, "too_many_payloads", f"at most {MAX_PAYLOADS} payloads per request")
        return parsed


def _payloads_response(payloads: list[Payload]) -> Response:
    answer = json_format.MessageToDict(Payloads(payloads=payloads))
    return JSONResponse({"payloads": answer.get("payloads", [])}, headers=NO_STORE)


async def _not_offered(request: Request) -> Response:
    return _bad_request(404, "not_offered", "this codec server only decodes; there is no /encode")


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _bad_request(status: int, error: str, content: str) -> Response:
    return JSONResponse({"error": error, "content": content[:500]}, status_code=status, headers=NO_STORE)


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def create_codec_app(
    codec: EncryptionCodec,
    redactor: Redactor,
    authenticator: Authenticator,
    *,
    allowed_origins: Sequence[str],
    allow_credentials: bool = False,
    max_body_bytes: int = 4 * 1024 * 1024,
) -> Starlette:
    """The ASGI app; ``allow_credentials`` lets a proxy's cookie travel (the UI's ``includeCredentials``)."""
    server = CodecServer(codec, redactor, authenticator, max_body_bytes=max_body_bytes)
    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/decode", server.decode, methods=["POST"]),
        Route("/{prefix:path}/decode", server.decode, methods=["POST"]),
        Route("/encode", _not_offered, methods=["POST", "GET"]),
        Route("/{prefix:path}/encode", _not_offered, methods=["POST", "GET"]),
    ]
    cors: dict[str, Any] = {
        "allow_origins": list(allowed_origins),
        "allow_methods": ["POST"],
        "allow_headers": list(ALLOWED_HEADERS),
        "allow_credentials": allow_credentials,
        "max_age": 600,
    }
    middleware = [Middleware(OriginGuard, allowed=allowed_origins), Middleware(CORSMiddleware, **cors)]
    return Starlette(routes=routes, middleware=middleware)
