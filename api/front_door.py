"""The connection layer in front of the API: bounded reads, bounded connections, errors in the frozen shape.

uvicorn bounds none of this by default: a connection that never finishes its
headers, trickles its body or just sits idle stays open for ever, and each one
holds a file descriptor (issue 12.1). ``bounded_protocol`` returns uvicorn's
h11 protocol with

* a **header deadline**: from the moment a connection opens (or its previous
  response completes) the next request's headers must arrive within
  ``header_seconds`` — a byte now and then does not extend it (uvicorn's own
  keep-alive timer is cancelled by any data, so it cannot stop a slow-header
  client);
* a **body deadline**: the request body must be complete ``body_seconds``
  after its headers; otherwise the request is answered ``408 request_timeout``
  (when no response has started) and the connection closed — the route sees
  a disconnect, which ``api.errors`` handles quietly;
* a **connection cap**: past ``max_connections`` open connections a new one is
  answered ``503 service_unavailable`` with ``Retry-After`` and closed at once,
  so file descriptors stay bounded whatever clients do;
* **malformed HTTP** answered as every other error: a UCP error body with a
  frozen code (``validation_failed``), signed with the connector's key,
  instead of uvicorn's plain-text ``400``.

Idle keep-alive time is uvicorn's ``timeout_keep_alive`` (``server_options``).
These responses are written straight to the transport because no ASGI
request exists yet (or any more); each one closes the connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

from contracts import ErrorCode, KeyStore, UcpError, sign_response

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FrontDoorLimits:
    """Bounds on what one connection may hold; defaults suit a JSON API behind no proxy."""

    header_seconds: float = 10.0
    body_seconds: float = 20.0
    keep_alive_seconds: int = 5
    max_connections: int = 1024
    max_header_bytes: int = 16 * 1024


def error_bytes(error: UcpError, keys: Callable[[], KeyStore]) -> bytes:
    """A complete, signed HTTP/1.1 response for ``error`` that closes the connection."""
    body = json.dumps(error.to_json_dict(), separators=(",", ":")).encode()
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    if error.retry_after is not None:
        headers.append(("retry-after", str(error.retry_after)))
    headers += list(sign_response(status=error.http_status, headers=headers, body=body, key=keys().active).items())
    headers += [("content-length", str(len(body))), ("connection", "close")]
    lines = [f"HTTP/1.1 {error.http_status} {HTTPStatus(error.http_status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class _Signer:
    keys: Callable[[], KeyStore]


class _BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the deadlines and the cap above (configured by ``bounded_protocol``)."""

    limits: ClassVar[FrontDoorLimits]
    signer: ClassVar[_Signer]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._requests_seen = 0

    # -- deadlines ---------------------------------------------------------

    def _arm(self, seconds: float, handler: Callable[[int], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, handler, self._requests_seen)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self, requests_at_arm: int) -> None:
        if self._requests_seen == requests_at_arm and not self.transport.is_closing():
            log.info("http.header_timeout", client=_client(self.client), seconds=self.limits.header_seconds)
            if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
                self._refuse(_timeout("headers", self.limits.header_seconds))
            else:
                self.transport.close()  # idle: nothing was asked, nothing to answer

    def _body_late(self, requests_at_arm: int) -> None:
        if self._requests_seen != requests_at_arm or self.transport.is_closing():
            return
        if self.conn.their_state is not h11.SEND_BODY:
            return  # the body is in; the app is working on the answer (bounded by its own waits)
        log.info("http.body_timeout", client=_client(self.client), seconds=self.limits.body_seconds)
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self._refuse(_timeout("body", self.limits.body_seconds))
        else:
            self.transport.close()
        if cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()

    def _refuse(self, error: UcpError) -> None:
        self._disarm()
        self.transport.write(error_bytes(error, self.signer.keys))
        self.transport.close()

    # -- uvicorn hooks -----------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("http.connection_refused", open_connections=len(self.connections))
            self._refuse(
                UcpError(
                    "the server is at its connection limit; retry shortly",
                    code=ErrorCode.SERVICE_UNAVAILABLE,
                    retry_after=1,
                    detail={"reason": "connection_limit"},
                )
            )
            return
        self._arm(self.limits.header_seconds, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle and not self.transport.is_closing():
            self._requests_seen += 1
            self._arm(self.limits.body_seconds, self._body_late)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:  # not a pipelined request
            self._arm(self.limits.header_seconds, self._headers_late)

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP (h11 refused it): the frozen error shape, signed, instead of plain text."""
        self._refuse(
            UcpError(
                "the request is not valid HTTP/1.1",
                code=ErrorCode.VALIDATION_FAILED,
                detail={"reason": "malformed_http"},
            )
        )


def _timeout(part: str, seconds: float) -> UcpError:
    return UcpError(
        f"the request {part} did not arrive within {seconds:g} s",
        code=ErrorCode.REQUEST_TIMEOUT,
        detail={"reason": f"{part}_timeout", "bound_ms": round(seconds * 1000)},
    )


def _client(client: tuple[str, int] | None) -> str | None:
    return f"{client[0]}:{client[1]}" if client else None


def bounded_protocol(keys: Callable[[], KeyStore], limits: FrontDoorLimits) -> type[H11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, bound to the connector's keys and these limits."""
    return type("BoundedH11Protocol", (_BoundedH11Protocol,), {"limits": limits, "signer": _Signer(keys)})


def server_options(keys: Callable[[], KeyStore], limits: FrontDoorLimits | None = None) -> dict[str, Any]:
    """uvicorn options for the API: the bounded protocol, keep-alive idle time, header size."""
    chosen = limits or FrontDoorLimits()
    return {
        "http": bounded_protocol(keys, chosen),
        "timeout_keep_alive": chosen.keep_alive_seconds,
        "h11_max_incomplete_event_size": chosen.max_header_bytes,
    }


__all__ = ["FrontDoorLimits", "bounded_protocol", "error_bytes", "server_options"]
