"""Fault injection: how the reference merchant misbehaves on purpose, per instance.

Faults are configured on the merchant object (``merchant.faults``) or in its
configuration file (``faults:``) — never by a request header a real platform
could send. They apply to the UCP operations named in ``operations`` (all of
them by default; the public profile only when ``profile`` is listed), and are
applied by :class:`FaultInjectionMiddleware`, the outermost ASGI layer, so the
application behind it behaves exactly as it would in production.

=================================  =============================================================================
switch                             effect
=================================  =============================================================================
``latency_seconds``                every matching request waits this long before it is processed
``unavailable_count``              the next N matching requests answer ``503 service_unavailable`` with
                                   ``Retry-After: retry_after_seconds``; nothing is executed
``hang_count``                     the next N matching requests hang ``hang_seconds`` (longer than a client's
                                   timeout) and then, with ``hang_then="drop"``, the connection is closed and
                                   nothing is executed; with ``hang_then="process"`` the request is executed
                                   late (the client has usually given up by then)
``drop_after_commit_count``        the next N matching requests are executed and committed (order placed,
                                   idempotency record stored), then the connection is aborted: the client
                                   never sees the response. Meant for ``complete_checkout``.
``bad_signature``                  every matching response carries a ``Signature`` that does not verify
``idempotency_unavailable``        the idempotency store "fails": mutations answer
                                   ``503 idempotency_unavailable`` (fail closed, IDM-06)
``totals_skew``                    checkout answers add this many minor units to the ``total`` entry only, so
                                   the totals no longer add up (a platform must not complete, CMP-06)
``forge_ap2_authorization``        in AP2 Mandates mode, ``ap2.merchant_authorization`` is signed with a key of
                                   the same ``kid`` that was never published (the platform must refuse it)
=================================  =============================================================================

Key rotation (``merchant.rotate_signing_key()`` / ``retire_signing_key(kid)``)
and forced expiry (``merchant.expire_checkout(id)``, or moving a
:class:`~reference_merchant.clock.ManualClock`) are methods of the merchant,
documented there.

Dropping a connection without a response needs the socket: uvicorn's
receive channel is a method of its request cycle, which holds the transport;
we abort that transport. Under a server that does not expose it we fall back
to sending the status line and closing before the body, which a client sees
as the same broken exchange.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from enum import StrEnum
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field

log = structlog.get_logger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Operation(StrEnum):
    """The merchant's operations, as fault filters and logs name them (rest.openapi.json operationIds)."""

    PROFILE = "profile"
    CREATE_CHECKOUT = "create_checkout"
    GET_CHECKOUT = "get_checkout"
    UPDATE_CHECKOUT = "update_checkout"
    COMPLETE_CHECKOUT = "complete_checkout"
    CANCEL_CHECKOUT = "cancel_checkout"
    GET_ORDER = "get_order"


class FaultPlan(BaseModel):
    """The fault switches of one merchant instance; mutable at run time (``merchant.faults.x = ...``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    operations: set[Operation] | None = Field(
        default=None, description="Operations the faults apply to; None means every UCP operation but the profile."
    )
    latency_seconds: float = Field(default=0.0, ge=0)
    unavailable_count: int = Field(default=0, ge=0)
    retry_after_seconds: int = Field(default=1, ge=0)
    hang_count: int = Field(default=0, ge=0)
    hang_seconds: float = Field(default=30.0, ge=0)
    hang_then: Literal["drop", "process"] = "drop"
    drop_after_commit_count: int = Field(default=0, ge=0)
    bad_signature: bool = False
    idempotency_unavailable: bool = False
    totals_skew: int = 0
    forge_ap2_authorization: bool = False

    def applies_to(self, operation: Operation) -> bool:
        if self.operations is None:
            return operation is not Operation.PROFILE
        return operation in self.operations

    def reset(self) -> None:
        """Switch every fault off."""
        for name, field in type(self).model_fields.items():
            setattr(self, name, field.get_default(call_default_factory=True))


def corrupt_signature(value: str) -> str:
    """Flip one bit of every byte sequence in a ``Signature`` header, keeping its syntax valid."""
    parts = value.split(":")
    for index in range(1, len(parts), 2):
        try:
            raw = bytearray(base64.b64decode(parts[index], validate=True))
        except ValueError:
            continue
        if raw:
            raw[0] ^= 0x01
        parts[index] = base64.b64encode(bytes(raw)).decode("ascii")
    return ":".join(parts)


class FaultInjectionMiddleware:
    """Outermost ASGI layer: applies ``plan`` to matching HTTP requests."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: Callable[[], FaultPlan],
        classify: Callable[[str, str], Operation | None],
        unavailable_response: Callable[[int], tuple[int, list[tuple[bytes, bytes]], bytes]],
    ) -> None:
        self.app = app
        self._plan = plan
        self._classify = classify
        self._unavailable_response = unavailable_response
        self._released = asyncio.Event()

    def release_hangs(self) -> None:
        """End every pending hang now (used on shutdown so a server can stop promptly)."""
        self._released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        operation = self._classify(scope["method"], scope["path"])
        plan = self._plan()
        if operation is None or not plan.applies_to(operation):
            await self.app(scope, receive, send)
            return
        if plan.latency_seconds:
            await asyncio.sleep(plan.latency_seconds)
        if plan.unavailable_count:
            plan.unavailable_count -= 1
            log.info("fault.unavailable", operation=operation.value)
            await self._send_unavailable(send, plan.retry_after_seconds)
            return
        if plan.hang_count:
            plan.hang_count -= 1
            log.info("fault.hang", operation=operation.value, seconds=plan.hang_seconds, then=plan.hang_then)
            # Like a real server, hold the request as received: the client may be gone when we get to it.
            buffered = await _read_request(receive)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), timeout=plan.hang_seconds)
            if plan.hang_then == "drop":
                await _drop_connection(receive, send)
                return
            receive = _replay(buffered)
        if plan.drop_after_commit_count:
            plan.drop_after_commit_count -= 1
            log.info("fault.drop_after_commit", operation=operation.value)
            await self.app(scope, receive, _swallow)
            await _drop_connection(receive, send)
            return
        if plan.bad_signature:
            await self.app(scope, receive, _with_corrupted_signature(send))
            return
        await self.app(scope, receive, send)

    async def _send_unavailable(self, send: Send, retry_after: int) -> None:
        status, headers, body = self._unavailable_response(retry_after)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_request(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    return receive


async def _swallow(message: Message) -> None:
    """A send channel that discards the response (the application has already committed)."""


def _corrupt(value: bytes) -> bytes:
    return corrupt_signature(value.decode("latin-1")).encode("latin-1")


def _with_corrupted_signature(send: Send) -> Send:
    async def send_corrupted(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (name, _corrupt(value) if name.lower() == b"signature" else value)
                for name, value in message.get("headers", [])
            ]
            message = {**message, "headers": headers}
        await send(message)

    return send_corrupted


async def _drop_connection(receive: Receive, send: Send) -> None:
    """Close the client connection without a response (see the module docstring for how)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(3):  # let the server notice the lost connection before the app returns
            await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    raise ConnectionAbortedError("response dropped by fault injection")
