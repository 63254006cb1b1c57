"""Connector extras for a platform's own bookkeeping: its sessions and each session's audit trail.

Both list endpoints order by a total order — sessions by (created_at, id),
events by seq — and page with opaque, tamper-evident cursors scoped to the
platform and the listing (DESIGN.md invariant 9). Unknown query parameters
are refused rather than ignored, so a typo in a filter cannot silently
return everything.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from api.dependencies import Platform, RepositoryDep, signed_platform
from api.openapi import documented
from contracts import ErrorCode, UcpError
from contracts.idempotency import is_session_id
from storage.sessions import CheckoutStatus, SessionFilters

router = APIRouter(tags=["connector"], dependencies=[Depends(signed_platform)])


def _only(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise UcpError(
            f"unknown query parameter {unknown[0]!r}",
            code=ErrorCode.VALIDATION_FAILED,
            pointer=f"?{unknown[0]}",
            detail={"reason": "unknown_query_parameter"},
        )


@router.get("/checkout-sessions", **documented("List this platform's checkout sessions"))
async def list_sessions(
    request: Request,
    platform: Platform,
    repository: RepositoryDep,
    status: CheckoutStatus | None = None,
    merchant_id: str | None = Query(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"),
    cursor: str | None = Query(default=None, max_length=1024),
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, object]:
    _only(request, {"status", "merchant_id", "cursor", "limit"})
    page = await repository.list_sessions(
        platform.platform_id, SessionFilters(status=status, merchant_id=merchant_id), cursor=cursor, limit=limit
    )
    return {
        "sessions": [
            {
                "id": item.session_id,
                "merchant_id": item.merchant_id,
                "status": item.status,
                "created_at": item.created_at.isoformat(),
                "updated_at": item.updated_at.isoformat(),
            }
            for item in page.items
        ],
        "next_cursor": page.next_cursor,
    }


@router.get("/checkout-sessions/{session_id}/events", **documented("A session's audit trail"))
async def list_events(
    request: Request,
    session_id: str,
    platform: Platform,
    repository: RepositoryDep,
    cursor: str | None = Query(default=None, max_length=1024),
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, object]:
    _only(request, {"cursor", "limit"})
    if not is_session_id(session_id):
        raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    if await repository.get_session(session_id, platform.platform_id) is None:
        raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    page = await repository.list_session_events(session_id, platform.platform_id, cursor=cursor, limit=limit)
    return {"events": [event.to_api_dict() for event in page.items], "next_cursor": page.next_cursor}
