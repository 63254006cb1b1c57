"""HTTP surface: the public profile and the UCP REST operations under ``api_prefix`` (rest.openapi.json).

Every UCP route authenticates first (:mod:`reference_merchant.security`);
only ``/.well-known/ucp`` is public, as the spec requires for key discovery.
There is no admin, debug or OpenAPI route: tests and operators drive the
merchant through its Python API. Errors of every kind — ours, the router's
404/405, and bugs — leave as signed UCP error bodies with a frozen code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from contracts import ErrorCode, UcpError
from reference_merchant.discovery import CACHE_CONTROL
from reference_merchant.faults import Operation

if TYPE_CHECKING:
    from reference_merchant.app import ReferenceMerchant

log = structlog.get_logger(__name__)

_ID = r"[^/]+"


def operation_classifier(api_prefix: str) -> Callable[[str, str], Operation | None]:
    """Map (method, path) to the operation it names, for fault filters; ``None`` for anything else."""
    prefix = re.escape(api_prefix)
    table = [
        ("GET", re.compile(r"/\.well-known/ucp"), Operation.PROFILE),
        ("POST", re.compile(prefix + r"/checkout-sessions"), Operation.CREATE_CHECKOUT),
        ("GET", re.compile(prefix + rf"/checkout-sessions/{_ID}"), Operation.GET_CHECKOUT),
        ("PUT", re.compile(prefix + rf"/checkout-sessions/{_ID}"), Operation.UPDATE_CHECKOUT),
        ("POST", re.compile(prefix + rf"/checkout-sessions/{_ID}/complete"), Operation.COMPLETE_CHECKOUT),
        ("POST", re.compile(prefix + rf"/checkout-sessions/{_ID}/cancel"), Operation.CANCEL_CHECKOUT),
        ("GET", re.compile(prefix + rf"/orders/{_ID}"), Operation.GET_ORDER),
    ]

    def classify(method: str, path: str) -> Operation | None:
        for wanted, pattern, operation in table:
            if method == wanted and pattern.fullmatch(path):
                return operation
        return None

    return classify


def install_routes(app: FastAPI, merchant: ReferenceMerchant) -> None:
    prefix = merchant.config.api_prefix
    service = merchant.service
    authenticate = merchant.authenticator.authenticate

    async def profile() -> Response:
        return merchant.responder.json(200, merchant.profile(), {"Cache-Control": CACHE_CONTROL})

    async def create_checkout(request: Request) -> Response:
        return await service.create_checkout(await authenticate(request, Operation.CREATE_CHECKOUT))

    async def get_checkout(request: Request, checkout_id: str) -> Response:
        return await service.get_checkout(await authenticate(request, Operation.GET_CHECKOUT), checkout_id)

    async def update_checkout(request: Request, checkout_id: str) -> Response:
        return await service.update_checkout(await authenticate(request, Operation.UPDATE_CHECKOUT), checkout_id)

    async def complete_checkout(request: Request, checkout_id: str) -> Response:
        ctx = await authenticate(request, Operation.COMPLETE_CHECKOUT)
        return await service.complete_checkout(ctx, checkout_id)

    async def cancel_checkout(request: Request, checkout_id: str) -> Response:
        return await service.cancel_checkout(await authenticate(request, Operation.CANCEL_CHECKOUT), checkout_id)

    async def get_order(request: Request, order_id: str) -> Response:
        return await service.get_order(await authenticate(request, Operation.GET_ORDER), order_id)

    app.add_api_route("/.well-known/ucp", profile, methods=["GET"])
    app.add_api_route(f"{prefix}/checkout-sessions", create_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}", get_checkout, methods=["GET"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}", update_checkout, methods=["PUT"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}/complete", complete_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}/cancel", cancel_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/orders/{{order_id}}", get_order, methods=["GET"])

    async def on_ucp_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UcpError)
        log.debug("request.refused", path=request.url.path, code=exc.code.value, reason=exc.reason)
        return merchant.responder.error(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return merchant.responder.error(UcpError("method not allowed here", code=ErrorCode.METHOD_NOT_ALLOWED))
        return merchant.responder.error(UcpError("no such resource", code=ErrorCode.NOT_FOUND))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return merchant.responder.error(UcpError("the request is not valid", code=ErrorCode.VALIDATION_FAILED))

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        log.debug("request.client_gone", path=request.url.path)
        return merchant.responder.error(UcpError("the client went away mid-request", code=ErrorCode.VALIDATION_FAILED))

    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("request.bug", path=request.url.path)
        return merchant.responder.error(
            UcpError("an unexpected condition; nothing was committed", code=ErrorCode.INTERNAL_ERROR)
        )

    app.add_exception_handler(UcpError, on_ucp_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(Exception, on_bug)
