"""Merchant order webhooks: verified against the *merchant's* profile keys, then signalled into the session.

Verification (order.md "Webhook Signature Verification", SIG-23..25, SIG-31) is
``merchants.webhooks.verify_order_webhook``: ``UCP-Agent`` must name exactly the
registered merchant's ``/.well-known/ucp``; the signature must verify with a key
of that profile (one profile refresh on an unknown ``kid``, SIG-09); the body
digest is checked over the raw bytes. Authorization (ORD-21): the order's ``checkout_id`` must
name a session created *with this merchant*; otherwise the webhook is
refused. Accepted events are signalled into the session workflow and
acknowledged at once (ORD-22); the workflow dedups on ``Webhook-Id``.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.dependencies import GatewayDep, ProfilesDep, RepositoryDep, SettingsDep
from api.openapi import documented
from contracts import ErrorCode, UcpError, parse_json, signed_target_uri, text_headers
from contracts.ucp import WEBHOOK_ID_HEADER, dump, parse_order_event
from core.logging import bind
from merchants.webhooks import verify_order_webhook
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
    url = signed_target_uri(settings.public_base_url, request.scope)
    headers = text_headers(request.scope["headers"])
    body = await request.body()
    await verify_order_webhook(profiles, merchant_id, url=url, headers=headers, body=body)
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
