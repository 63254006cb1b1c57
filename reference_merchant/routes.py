"""HTTP surface: the public profiles and the UCP REST operations under ``api_prefix`` (rest.openapi.json).

Every UCP route authenticates first (:mod:`reference_merchant.security`, or
the 2026-01-11 header checks); only ``/.well-known/ucp`` (and the
version-specific ``/.well-known/ucp/{version}`` leaves) are public, as the
spec requires for key discovery. The buyer's hand-off page
(:mod:`reference_merchant.handoff`) is the only other surface. There is no
admin, debug or OpenAPI route: tests and operators drive the merchant through
its Python API. Errors of every kind — ours, the router's 404/405, and bugs
— leave as error bodies of the request's release (signed where it signs),
with a frozen code.
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
from reference_merchant.releases import Release

if TYPE_CHECKING:
    from reference_merchant.app import ReferenceMerchant

log = structlog.get_logger(__name__)

_ID = r"[^/]+"


def operation_classifier(api_prefix: str) -> Callable[[str, str], Operation | None]:
    """Map (method, path) to the operation it names, for fault filters; ``None`` for anything else."""
    prefix = re.escape(api_prefix)
    table = [
        ("GET", re.compile(r"/\.well-known/ucp(?:/[0-9-]+)?"), Operation.PROFILE),
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
        headers = {"Cache-Control": CACHE_CONTROL}
        return merchant.responder.json(200, merchant.profile(), headers, sign=merchant.release.signs_responses)

    async def leaf_profile(version: str) -> Response:
        try:
            document = merchant.leaf_profile(version)
        except KeyError:
            raise UcpError("no profile for this release", code=ErrorCode.NOT_FOUND) from None
        return merchant.responder.json(200, document, {"Cache-Control": CACHE_CONTROL})

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
    app.add_api_route("/.well-known/ucp/{version}", leaf_profile, methods=["GET"])
    app.add_api_route(f"{prefix}/checkout-sessions", create_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}", get_checkout, methods=["GET"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}", update_checkout, methods=["PUT"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}/complete", complete_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/checkout-sessions/{{checkout_id}}/cancel", cancel_checkout, methods=["POST"])
    app.add_api_route(f"{prefix}/orders/{{order_id}}", get_order, methods=["GET"])

    def refuse(request: Request, error: UcpError) -> Response:
        """``error`` in the request's release (set once authenticated), else in the merchant's own."""
        release: Release = getattr(request.state, "release", merchant.release)
        return merchant.responder.error(release, error)

    async def on_ucp_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UcpError)
        log.debug("request.refused", path=request.url.path, code=exc.code.value, reason=exc.reason)
        return refuse(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return refuse(request, UcpError("method not allowed here", code=ErrorCode.METHOD_NOT_ALLOWED))
        return refuse(request, UcpError("no such resource", code=ErrorCode.NOT_FOUND))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return refuse(request, UcpError("the request is not valid", code=ErrorCode.VALIDATION_FAILED))

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        log.debug("request.client_gone", path=request.url.path)
        return refuse(request, UcpError("the client went away mid-request", code=ErrorCode.VALIDATION_FAILED))

    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("request.bug", path=request.url.path)
        return refuse(
            request, UcpError("an unexpected condition; nothing was committed", code=ErrorCode.INTERNAL_ERROR)
        )

    app.add_exception_handler(UcpError, on_ucp_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(Exception, on_bug)
