"""Merchant order webhooks: verified against the *merchant's* profile keys, then signalled into the session.

Verification (order.md "Webhook Signature Verification", SIG-23..25, SIG-31):
``UCP-Agent`` must name exactly the registered merchant's
``/.well-known/ucp``; the signature must verify with a key of that profile
(one profile refresh on an unknown ``kid``, SIG-09); the body digest is checked
over the raw bytes. Authorization (ORD-21): the order's ``checkout_id`` must
name a session created *with this merchant*; otherwise the webhook is
refused. Accepted events are signalled into the session workflow and
acknowledged at once (ORD-22); the workflow dedups on ``Webhook-Id``.

Assumption: coverage follows signatures.md's normative table (``ucp-agent``
is covered when present), not the shorter example in order.md.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.dependencies import GatewayDep, ProfilesDep, RepositoryDep, SettingsDep
from api.openapi import documented
from contracts import (
    ErrorCode,
    SignatureError,
    UcpError,
    parse_json,
    parse_ucp_agent,
    signed_target_uri,
    text_headers,
    verify_request,
)
from contracts.ucp import WEBHOOK_ID_HEADER, dump, parse_order_event
from core.logging import bind
from workflows.types import OrderEvent

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/merchants/{merchant_id}", **documented("Receive a merchant's signed order webhook", signed_by="merchant")
)
async def merchant_order_webhook(
    request: Request,
    merchant_id: str,
    settings: SettingsDep,
    profiles: ProfilesDep,
    repository: RepositoryDep,
    gateway: GatewayDep,
) -> JSONResponse:
    merchant = settings.merchants.get(merchant_id)
    if merchant is None:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND)
    body = await request.body()
    headers = text_headers(request.scope["headers"])
    agent = request.headers.get("ucp-agent")
    claimed = parse_ucp_agent(agent, business=True, allow_insecure_loopback=merchant.allow_insecure_loopback)
    if claimed != merchant.profile_url:
        raise UcpError(
            "UCP-Agent does not name this merchant's profile",
            code=ErrorCode.PROFILE_NOT_TRUSTED,
            detail={"reason": "identity_mismatch"},
        )
    url = signed_target_uri(settings.public_base_url, request.scope)
    entry = await profiles.get(merchant_id)
    try:
        verify_request(method="POST", url=url, headers=headers, body=body or None, keys=entry.keys)
    except SignatureError as error:
        refreshed = (
            await profiles.refresh_for_unknown_kid(merchant_id) if error.code is ErrorCode.KEY_NOT_FOUND else None
        )
        if refreshed is None:
            raise
        verify_request(method="POST", url=url, headers=headers, body=body or None, keys=refreshed.keys)
    webhook_id = request.headers.get(WEBHOOK_ID_HEADER)
    if not webhook_id or len(webhook_id) > 256:
        raise UcpError("Webhook-Id header is required", code=ErrorCode.VALIDATION_FAILED, pointer="")
    order = parse_order_event(parse_json(body), code=ErrorCode.VALIDATION_FAILED)
    record = await repository.find_session_by_merchant_ids(merchant_id, merchant_checkout_id=order.checkout_id)
    if record is None:
        raise UcpError("no session of this merchant has that checkout", code=ErrorCode.NOT_FOUND)
    bind(platform_id=record.platform_id, session_id=record.session_id, merchant_id=merchant_id)
    event = OrderEvent(webhook_id=webhook_id, received_at=dt.datetime.now(dt.UTC), order=dump(order))
    await gateway.order_event(record.platform_id, record.session_id, event)
    return JSONResponse({"status": "accepted"})
