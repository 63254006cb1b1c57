"""Audit every request the API refuses (DESIGN.md invariant 7: accepted *and rejected* requests).

Accepted operations are audited by their workflow, in the session's own hash
chain. Requests refused at the front door — bad signature, invalid body,
validator rejection, policy refusal, rate limit — never reach a workflow, so
the API writes them here, one chain per platform (``api:{platform_id}``) and
one for requests whose signature did not verify (``api:unauthenticated``).
These chains are appended with storage-assigned sequence numbers, never
mixed with a session's chain.

The unauthenticated chain is rate-limited: an anonymous flood must not turn
into a database write per request. Past the limit events are counted and the
count is written with the next event that gets through, so nothing is
silently hidden. A failing audit store never changes the answer (the request
is refused either way); it is logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from fastapi import Request
from fastapi.routing import APIRoute

from api.limits import TokenBucket
from contracts import UcpError, content_digest
from storage.audit import AuditOutcome, NewAuditEvent
from storage.errors import StorageError
from storage.repository import Repository

log = structlog.get_logger(__name__)

UNAUTHENTICATED = "unauthenticated"


class RejectionAudit:
    def __init__(self, repository: Repository, *, anonymous_per_second: float = 5.0) -> None:
        self._repository = repository
        self._anonymous = TokenBucket(anonymous_per_second, burst=int(max(1, anonymous_per_second * 2)))
        self._suppressed = 0

    async def record(self, request: Request, error: UcpError) -> None:
        platform = getattr(request.state, "platform", None)
        platform_id = platform.platform_id if platform is not None else UNAUTHENTICATED
        payload: dict[str, Any] = {
            "route": _route_template(request),
            "http_status": error.http_status,
            "reason": error.reason,
        }
        session_id = request.path_params.get("session_id")
        if isinstance(session_id, str) and session_id.startswith("cs_"):
            payload["session_id"] = session_id[:64]
        if platform is None:
            if self._anonymous.take() is not None:
                self._suppressed += 1
                return
            if self._suppressed:
                payload["suppressed_before"], self._suppressed = self._suppressed, 0
        body = getattr(platform, "body", None)
        event = NewAuditEvent(
            platform_id=platform_id,
            session_id=f"api:{platform_id}",
            occurred_at=dt.datetime.now(dt.UTC),
            actor=f"platform:{platform_id}" if platform is not None else UNAUTHENTICATED,
            action=f"{request.method} request",
            outcome=AuditOutcome.REJECTED,
            error_code=error.code,
            request_digest=content_digest(body) if body else None,
            payload=payload,
        )
        try:
            await self._repository.append_audit_event(event)
        except StorageError as failure:
            log.error("audit_unavailable", code=error.code.value, reason=failure.reason)


def _route_template(request: Request) -> str:
    """The matched route's path template (ids and query values never enter the audit payload)."""
    route = request.scope.get("route")
    return route.path if isinstance(route, APIRoute) else "(no route)"
