"""One access-log line per request, and the request's identity bound to every line written while it runs.

Outermost of our middleware (inside the tracing middleware, so the line
carries the trace id), it

* binds ``request_id`` (the caller's ``Request-Id`` when it is a sane token,
  else a fresh ``req_`` + 26 base32 characters -- not a UUID, whose hex digits
  and hyphens can line up into a PAN-like run that the redactor would mask),
  ``method`` and ``path`` for the request's task; the
  signed routes add ``platform_id`` once the signature verified, and
  ``session_id`` once the session is known (``api.security``,
  ``api.gateway``);
* writes ``http.request`` with method, the **route template** (``/merchants/
  {merchant_id}/checkout-sessions/{session_id}``, never the query string:
  cursors and filters stay out of logs), status, ``duration_ms`` and the
  verified ``platform_id``.

Requests are served one per task by uvicorn, so bindings cannot leak into
another request; they are cleared at the start anyway.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import Any, Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import bind

log = structlog.get_logger("ucp_connector.api.access")

REQUEST_ID_HEADER: Final = b"request-id"
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text: str = bytes(value).decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(text):
                return text
            break
    return "req_" + base64.b32encode(secrets.token_bytes(16)).decode("ascii").lower()[:26]


def route_template(scope: Scope) -> str:
    """The matched route's path template (set by the router), or a fixed label for unmatched paths."""
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "(unmatched)"


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        bind(request_id=request_id_of(scope), method=scope["method"], path=scope["path"])
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            fields: dict[str, Any] = {
                "route": route_template(scope),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            platform = scope.get("state", {}).get("platform")
            if platform is not None:
                fields["platform_id"] = platform.platform_id
            (log.warning if status >= 500 else log.info)("http.request", **fields)
