"""Audit every request the API refuses (DESIGN.md invariant 7: accepted *and rejected* requests).

Accepted operations are audited by their workflow, in the session's own hash
chain. Requests refused at the front door — bad signature, invalid body,
validator rejection, policy refusal, rate limit — never reach a workflow, so
the API writes them here, one chain per platform (``api:{platform_id}``) and
one for requests whose signature did not verify (``api:unauthenticated``).
These chains are appended with storage-assigned sequence numbers, never
mixed with a session's chain.

The unauthenticated chain is rate-limited: an anonymous flood must not turn
into a database write per request. So are a platform's ``429 rate_limited``
refusals (issue 12.4: a throttled platform's 400-request flood wrote 390
rows): per platform at most about one row a second is written, and the
refusals in between are counted — each written row carries
``suppressed_before``, and ``close`` writes what is still counted — so the
trail holds every refusal, aggregated, and nothing is silently hidden.

Refusals never wait on the store (issue 12.10): they go to a local,
append-only spool (``api.rejection_spool``) that a background task moves into
the store, retrying while it is down.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import structlog
from fastapi import Request
from fastapi.routing import APIRoute

from api.limits import TokenBucket
from api.rejection_spool import RejectionSpool
from contracts import ErrorCode, UcpError, content_digest
from storage.audit import AuditOutcome, NewAuditEvent
from storage.repository import Repository

log = structlog.get_logger(__name__)

UNAUTHENTICATED = "unauthenticated"


class RejectionAudit:
    def __init__(
        self,
        repository: Repository,
        spool_dir: Path,
        *,
        anonymous_per_second: float = 5.0,
        throttled_per_second: float = 1.0,
    ) -> None:
        self.spool = RejectionSpool(spool_dir, repository.append_audit_event)
        self._anonymous = TokenBucket(anonymous_per_second, burst=int(max(1, anonymous_per_second * 2)))
        self._suppressed = 0
        self._throttled_rate = throttled_per_second
        self._throttled: dict[str, TokenBucket] = {}
        self._throttled_suppressed: dict[str, int] = {}

    def _sampled_rate_limit(self, platform_id: str, payload: dict[str, Any]) -> bool:
        """Whether this 429 is written (a sample) or only counted."""
        bucket = self._throttled.get(platform_id)
        if bucket is None:
            bucket = self._throttled[platform_id] = TokenBucket(self._throttled_rate, burst=2)
        if bucket.take() is not None:
            self._throttled_suppressed[platform_id] = self._throttled_suppressed.get(platform_id, 0) + 1
            return False
        counted = self._throttled_suppressed.pop(platform_id, 0)
        if counted:
            payload["suppressed_before"] = counted
        return True

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
        if (
            platform is not None
            and error.code is ErrorCode.RATE_LIMITED
            and not self._sampled_rate_limit(platform_id, payload)
        ):
            return
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
        self.spool.append(event)

    async def close(self) -> None:
        """Write the 429s still only counted (one summary row per platform), then drain the spool (bounded)."""
        for platform_id, counted in sorted(self._throttled_suppressed.items()):
            self.spool.append(
                NewAuditEvent(
                    platform_id=platform_id,
                    session_id=f"api:{platform_id}",
                    occurred_at=dt.datetime.now(dt.UTC),
                    actor=f"platform:{platform_id}",
                    action="rate_limited summary",
                    outcome=AuditOutcome.REJECTED,
                    error_code=ErrorCode.RATE_LIMITED,
                    payload={"suppressed_before": counted, "http_status": 429},
                )
            )
        self._throttled_suppressed.clear()
        await self.spool.close()


def _route_template(request: Request) -> str:
    """The matched route's path template (ids and query values never enter the audit payload)."""
    route = request.scope.get("route")
    return route.path if isinstance(route, APIRoute) else "(no route)"
