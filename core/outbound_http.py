"""Outbound HTTP rules shared by every activity: explicit timeouts, no redirects, bounded bodies.

A merchant or platform endpoint is a counterparty we do not control: it may
hang, redirect us somewhere else, or stream an endless body. Every request
therefore has connect/read/write/pool timeouts, never follows redirects (UCP
forbids them for profiles, OVR-38, and a redirected signed request would be
a relay), reads at most ``MAX_RESPONSE_BYTES``, and negotiates TLS 1.3 or
nothing: UCP's REST bindings require TLS >= 1.3 (TRN-02, ORD-16), so a
counterparty that offers only TLS 1.2 fails the handshake instead of being
spoken to over an older protocol. When tracing is on, every
client is instrumented here (``traceparent`` to the counterparty; no body or
covered header is touched, so signatures still verify).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Final

import certifi
import httpx

from core.telemetry import instrument_http_client

MAX_RESPONSE_BYTES: Final = 1024 * 1024
MINIMUM_TLS_VERSION: Final = ssl.TLSVersion.TLSv1_3
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=5.0)


class ResponseTooLargeError(RuntimeError):
    pass


def client_tls_context(*, ca_file: Path | None = None, client_cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    """Public roots (plus ``ca_file``), hostname checks on, and no protocol older than TLS 1.3 (TRN-02)."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = MINIMUM_TLS_VERSION
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if client_cert is not None:
        context.load_cert_chain(certfile=client_cert[0], keyfile=client_cert[1])
    return context


def new_http_client(
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    *,
    ca_file: Path | None = None,
    client_cert: tuple[str, str] | None = None,
) -> httpx.AsyncClient:
    """The client every activity and the API use; ``ca_file`` adds a private CA to the public roots.

    ``client_cert`` (certificate file, key file) makes it present a TLS client
    certificate: a merchant that authenticates the connector by mutual TLS.
    """
    verify = client_tls_context(ca_file=ca_file, client_cert=client_cert)
    client = httpx.AsyncClient(
        timeout=timeout,
        verify=verify,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "ucp-connector/0.1"},
        trust_env=False,
    )
    return instrument_http_client(client)


async def send_bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: list[tuple[str, str]],
    content: bytes | None,
    auth: httpx.Auth | None = None,
) -> tuple[httpx.Response, bytes]:
    """Send a request and read at most ``MAX_RESPONSE_BYTES`` of the body (exact bytes, for digests).

    ``auth`` runs on the request as built (a signer: ``contracts.httpx_auth.RequestSigner``).
    """
    request = client.build_request(method, url, headers=headers, content=content)
    response = await client.send(request, stream=True, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ResponseTooLargeError(f"response from {url} exceeds {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
    finally:
        await response.aclose()
    return response, b"".join(chunks)


def retry_after_seconds(response: httpx.Response, *, cap: float = 300.0) -> float | None:
    """``Retry-After`` as seconds (delta form only; HTTP-dates are treated as absent), capped."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), cap)
