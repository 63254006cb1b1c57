"""RFC 9421 request signing as an ``httpx.Auth``: a client call made with it is signed by construction.

The signature itself is :func:`contracts.http_signatures.sign_request`'s; this
adapter only hands it the request exactly as httpx will send it — method, the
encoded absolute URL (so ``@path``/``@query`` are the bytes on the wire), the
header lines already set (``UCP-Agent``, ``Idempotency-Key``, ``Content-Type``
are covered when present, SIG-16..19) and the body bytes — and adds the
``Content-Digest``, ``Signature-Input`` and ``Signature`` it returns. Headers a
transport adds later (``traceparent``) are not covered, by design.

Given a ``profile_url``, it also sends ``UCP-Agent: profile="..."`` (SIG-32:
the platform names its profile, and the signature covers it), so a plain
``httpx.Client(auth=RequestSigner(key, profile_url=...))`` makes requests a
UCP server accepts; ``Idempotency-Key`` stays the caller's, because only the
caller knows when a request is a retry of the same operation.

Not exported from ``contracts`` itself, so importing the wire rules does not
import httpx.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Final

import httpx

from contracts.detached_jws import sign_detached
from contracts.http_signatures import sign_request
from contracts.jwk import KeyStore, SigningKey
from contracts.ucp_agent import format_ucp_agent

UCP_AGENT: Final = "UCP-Agent"


class RequestSigner(httpx.Auth):
    """Sign every request with ``keys.active`` (signatures.md "REST Binding: Request Signing")."""

    requires_request_body = True  # the digest is over the exact body bytes

    def __init__(self, keys: KeyStore | SigningKey, *, profile_url: str | None = None) -> None:
        self._keys = keys if isinstance(keys, KeyStore) else KeyStore(keys)
        self._agent = format_ucp_agent(profile_url) if profile_url is not None else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._agent is not None and UCP_AGENT not in request.headers:
            request.headers[UCP_AGENT] = self._agent
        signed = sign_request(
            method=request.method,
            url=str(request.url),
            headers=request.headers.multi_items(),
            body=request.content or None,
            key=self._keys.active,
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request


class DetachedJwsSigner(httpx.Auth):
    """UCP 2026-01-11's ``Request-Signature``: a detached JWS (RFC 7797) over the exact body bytes (empty for GET)."""

    requires_request_body = True

    def __init__(self, keys: KeyStore, header: str = "Request-Signature") -> None:
        self._keys = keys
        self._header = header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = sign_detached(request.content or b"", self._keys.active)
        yield request
