"""Refuse, before any routing, a request whose ``Host`` is not the connector's public authority (issue 12.2).

Platforms sign ``@authority`` for ``public_base_url`` and the verifier rebuilds
it from there, so a request carrying another ``Host`` can never verify — but
before this guard the router ran first and answered a trailing-slash
redirect to *whatever host the request named*, signed with the connector's
key. Now such a request never reaches a route: ``421 misdirected_request``
(RFC 9110 15.5.20), naming the authority the connector serves, signed like
every answer and audited as an unauthenticated refusal. The router's slash
redirects are off as well (``api.app.routed_app``), so no route answers a
redirect at all.

Liveness and readiness probes are exempt: orchestrators call them by pod or
container address, and they reveal nothing.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.audit import RejectionAudit
from api.errors import error_response
from contracts import ErrorCode, UcpError
from contracts.authority import authority

PROBE_PATHS: Final = frozenset({"/healthz", "/readyz"})


class AuthorityGuard:
    def __init__(self, app: ASGIApp, *, public_base_url: str, rejections: RejectionAudit) -> None:
        self.app = app
        target = urlsplit(public_base_url)
        self._scheme = target.scheme
        self._expected = authority(target.scheme, target.netloc)
        self._rejections = rejections

    def _host(self, scope: Scope) -> str | None:
        hosts = [bytes(value).decode("latin-1") for name, value in scope.get("headers", ()) if name == b"host"]
        return hosts[0].strip() if len(hosts) == 1 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        host = self._host(scope)
        if host is not None and authority(self._scheme, host) == self._expected:
            await self.app(scope, receive, send)
            return
        error = UcpError(
            f"this server answers for {self._expected} only; send (and sign) the request for it",
            code=ErrorCode.MISDIRECTED_REQUEST,
            detail={"expected_authority": self._expected, "request_authority": (host or "")[:255]},
        )
        await self._rejections.record(Request(scope), error)
        await error_response(error)(scope, receive, send)


__all__ = ["PROBE_PATHS", "AuthorityGuard"]
