"""Sign every response the API sends — errors and public routes included.

A pure ASGI middleware, outermost in the stack, so nothing can leave unsigned:
it buffers the (small, JSON) response, then adds ``Content-Digest`` and an
RFC 9421 signature over ``@status``, ``content-digest`` and ``content-type``
(signatures.md "REST Response Signing", SIG-21) made with the connector's
active key. Platforms verify it with the keys of ``/.well-known/ucp``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import KeyStore, sign_response, text_headers


class ResponseSigningMiddleware:
    def __init__(self, app: ASGIApp, keys: Callable[[], KeyStore]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            headers = [
                (name, value)
                for name, value in start.get("headers", [])
                if name.lower() not in (b"content-digest", b"signature", b"signature-input", b"content-length")
            ]
            added = sign_response(
                status=start["status"], headers=text_headers(headers), body=body or None, key=self.keys().active
            )
            headers += [(name.lower().encode(), value.encode()) for name, value in added.items()]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, buffered_send)
