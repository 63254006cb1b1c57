"""Every failure leaves the API as a UCP-shaped error body with a frozen code — never a bare 500.

* ``UcpError`` (anything from ``contracts`` or our own code) → its status and body,
  plus ``Retry-After`` when it carries one (429, 503; TRN-10);
* request validation → ``400 validation_failed`` with an RFC 6901 JSON pointer to
  the first offending field (DESIGN.md invariant 8);
* unknown route → ``404 not_found``; wrong method → ``405 method_not_allowed``;
* the client disconnected mid-body → logged in one line, answered into the void
  (never the catch-all: no traceback, no 500; issue 12.3);
* anything else is a bug: logged with its traceback server-side, answered with
  ``500 internal_error`` and no detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.audit import RejectionAudit
from contracts import ErrorCode, UcpError
from contracts.ucp import json_pointer as ucp_json_pointer

log = structlog.get_logger(__name__)


def error_response(error: UcpError, headers: dict[str, str] | None = None) -> JSONResponse:
    extra = dict(headers or {})
    if error.retry_after is not None:
        extra["Retry-After"] = str(error.retry_after)
    return JSONResponse(error.to_json_dict(), status_code=error.http_status, headers=extra)


def json_pointer(location: Sequence[Any]) -> str:
    """RFC 6901 pointer from a pydantic error location (the leading "body" is the document root)."""
    parts = tuple(location)
    return ucp_json_pointer(parts[1:] if parts[:1] == ("body",) else parts)


class _AuditedErrors:
    """The handlers of refused requests: each refusal is audited (invariant 7), then answered."""

    def __init__(self, rejections: RejectionAudit) -> None:
        self._rejections = rejections

    async def _answer(self, request: Request, error: UcpError) -> JSONResponse:
        await self._rejections.record(request, error)
        return error_response(error)

    async def ucp_error(self, request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UcpError)
        return await self._answer(request, exc)

    async def validation_error(self, request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        pointer = json_pointer(first.get("loc", ()))
        return await self._answer(
            request,
            UcpError(
                f"{first.get('msg', 'invalid value')} at {pointer or '/'}",
                code=ErrorCode.VALIDATION_FAILED,
                pointer=pointer,
                detail={"reason": str(first.get("type", "invalid")), "errors": len(errors)},
            ),
        )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response(UcpError("method not allowed on this route", code=ErrorCode.METHOD_NOT_ALLOWED))
    if exc.status_code == 404:
        return error_response(UcpError("no such resource", code=ErrorCode.NOT_FOUND))
    return error_response(UcpError("request could not be handled", code=ErrorCode.VALIDATION_FAILED))


async def _client_gone(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-body (or the front door closed a slow one): nobody reads the answer, no traceback."""
    log.info("client_disconnected", path=request.url.path, method=request.method)
    return error_response(
        UcpError("the client disconnected before the body arrived", code=ErrorCode.VALIDATION_FAILED),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    return error_response(UcpError("internal error; nothing was committed", code=ErrorCode.INTERNAL_ERROR))


def install_error_handlers(app: FastAPI, rejections: RejectionAudit) -> None:
    """Answer every failure as a UCP error; the refusals of a request (not 404/405 routing misses) are audited."""
    audited = _AuditedErrors(rejections)
    app.add_exception_handler(UcpError, audited.ucp_error)
    app.add_exception_handler(RequestValidationError, audited.validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
