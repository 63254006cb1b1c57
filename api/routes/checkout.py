"""UCP-shaped checkout routes, per merchant: an unmodified UCP platform client can point here.

Each mutation needs an ``Idempotency-Key`` and is one workflow operation
(api/gateway.py); checkout reads are answered from the workflow's durable
state, and an order read goes through the workflow to the merchant (signed,
audited), or through its order workflow once the checkout workflow has
completed (decision 0001). The
session id the platform sees is the connector's (``cs_...``); a session of
another platform or another merchant is simply not found (404, never 403, so
existence does not leak).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.dependencies import (
    GatewayDep,
    KeysDep,
    Platform,
    ProfilesDep,
    RepositoryDep,
    SessionContextsDep,
    SettingsDep,
    json_body,
    operation_request,
    signed_platform,
)
from api.extensions import negotiated_extensions, negotiated_merchant
from api.gateway import CheckoutGateway
from api.openapi import documented
from api.security import VerifiedPlatform
from contracts import ErrorCode, UcpError
from contracts.idempotency import is_session_id
from contracts.ucp import (
    CheckoutCancelRequest,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from core.settings import Settings
from workflows import read_through
from workflows.types import Operation, OperationResult, OrderRead, SessionView

router = APIRouter(prefix="/merchants/{merchant_id}", tags=["checkout"], dependencies=[Depends(signed_platform)])


def _merchant(settings: Settings, platform: VerifiedPlatform, merchant_id: str) -> None:
    if merchant_id not in settings.merchants:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND)
    if merchant_id not in platform.settings.allowed_merchants:
        raise UcpError(
            "this platform may not use this merchant",
            code=ErrorCode.POLICY_DENIED,
            detail={"reason": "merchant_not_allowed"},
        )


def _session_id(session_id: str) -> str:
    if not is_session_id(session_id):
        raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    return session_id


def _respond(result: OperationResult, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(result.body, status_code=result.http_status, headers=headers)


async def _view(gateway: CheckoutGateway, platform: VerifiedPlatform, merchant_id: str, session_id: str) -> SessionView:
    view = await gateway.view(platform.platform_id, _session_id(session_id))
    if view.merchant_id != merchant_id:
        raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    return view


@router.post(
    "/checkout-sessions",
    status_code=201,
    **documented("Create a checkout session", CheckoutCreateRequest, mutation=True),
)
async def create_checkout(
    request: Request,
    merchant_id: str,
    platform: Platform,
    settings: SettingsDep,
    contexts: SessionContextsDep,
    gateway: GatewayDep,
    keys: KeysDep,
    profiles: ProfilesDep,
) -> JSONResponse:
    _merchant(settings, platform, merchant_id)
    negotiated = await negotiated_extensions(platform, settings, keys, profiles, merchant_id)
    body = json_body(request, platform, CheckoutCreateRequest, negotiated=negotiated)
    operation = operation_request(request, body, merchant_id)
    merchant = await negotiated_merchant(settings, keys, profiles, merchant_id)
    session_id, result = await gateway.create(contexts.for_new_session(platform, merchant_id, merchant), operation)
    headers = (
        {"Location": f"/merchants/{merchant_id}/checkout-sessions/{session_id}"} if result.http_status == 201 else None
    )
    return _respond(result, headers)


@router.get("/checkout-sessions/{session_id}", **documented("Get a checkout session"))
async def get_checkout(merchant_id: str, session_id: str, platform: Platform, gateway: GatewayDep) -> JSONResponse:
    view = await _view(gateway, platform, merchant_id, session_id)
    if read_through.waiting_on_merchant(view.status, "polling_merchant_for_outcome" in view.pending_actions):
        # The buyer acts at the merchant (continue_url) or an outcome is due: ask it, bounded (issue 11.1).
        view = await gateway.read_checkout(platform.platform_id, _session_id(session_id), merchant_id) or view
    if view.checkout is None:
        raise UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    return JSONResponse(view.checkout)


async def _operate(
    request: Request,
    settings: Settings,
    gateway: CheckoutGateway,
    platform: VerifiedPlatform,
    merchant_id: str,
    session_id: str,
    operation: Operation,
    body: Any,
) -> JSONResponse:
    _merchant(settings, platform, merchant_id)
    operation_body = operation_request(request, body, merchant_id)
    # The workflow's validator refuses a session of another merchant (404) before anything runs.
    result = await gateway.operate(platform.platform_id, _session_id(session_id), operation, operation_body)
    return _respond(result)


@router.put(
    "/checkout-sessions/{session_id}", **documented("Update a checkout session", CheckoutUpdateRequest, mutation=True)
)
async def update_checkout(
    request: Request,
    merchant_id: str,
    session_id: str,
    platform: Platform,
    settings: SettingsDep,
    gateway: GatewayDep,
    keys: KeysDep,
    profiles: ProfilesDep,
) -> JSONResponse:
    _merchant(settings, platform, merchant_id)
    negotiated = await negotiated_extensions(platform, settings, keys, profiles, merchant_id)
    body = json_body(request, platform, CheckoutUpdateRequest, negotiated=negotiated)
    return await _operate(request, settings, gateway, platform, merchant_id, session_id, Operation.UPDATE, body)


@router.post(
    "/checkout-sessions/{session_id}/complete",
    **documented("Complete a checkout session (place the order)", CheckoutCompleteRequest, mutation=True),
)
async def complete_checkout(
    request: Request,
    merchant_id: str,
    session_id: str,
    platform: Platform,
    settings: SettingsDep,
    gateway: GatewayDep,
    keys: KeysDep,
    profiles: ProfilesDep,
) -> JSONResponse:
    _merchant(settings, platform, merchant_id)
    negotiated = await negotiated_extensions(platform, settings, keys, profiles, merchant_id)
    body = json_body(request, platform, CheckoutCompleteRequest, negotiated=negotiated)
    return await _operate(request, settings, gateway, platform, merchant_id, session_id, Operation.COMPLETE, body)


@router.post(
    "/checkout-sessions/{session_id}/cancel",
    **documented("Cancel a checkout session", CheckoutCancelRequest, mutation=True),
)
async def cancel_checkout(
    request: Request, merchant_id: str, session_id: str, platform: Platform, settings: SettingsDep, gateway: GatewayDep
) -> JSONResponse:
    body = json_body(request, platform, CheckoutCancelRequest, empty_ok=True)
    return await _operate(request, settings, gateway, platform, merchant_id, session_id, Operation.CANCEL, body)


@router.get("/orders/{order_id}", **documented("Get an order placed through the connector"))
async def get_order(
    merchant_id: str, order_id: str, platform: Platform, repository: RepositoryDep, gateway: GatewayDep
) -> JSONResponse:
    record = await repository.find_session_by_merchant_ids(merchant_id, order_id=order_id[:255])
    if record is None or record.platform_id != platform.platform_id:
        raise UcpError("no such order", code=ErrorCode.NOT_FOUND)
    read = OrderRead(merchant_id=merchant_id, order_id=order_id)
    result = await gateway.read_order(platform.platform_id, record.session_id, read)
    if result is not None:
        return JSONResponse(result.body, status_code=result.http_status)
    # A session closed before decision 0001 (48 h after its last status): serve the last signed snapshot.
    view = await _view(gateway, platform, merchant_id, record.session_id)
    order = view.order or (view.checkout or {}).get("order")
    if not isinstance(order, dict):
        raise UcpError("no such order", code=ErrorCode.NOT_FOUND)
    return JSONResponse(order)
