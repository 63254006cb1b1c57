"""Merchant order webhooks: verified against the *merchant's* profile keys, then signalled into the session.

Verification and reading (order.md "Webhook Signature Verification",
SIG-23..25, SIG-31) are ``merchants.webhooks.receive_order_webhook``, in the
merchant's release: the signature must verify with a key of that merchant's
profile (one profile refresh on an unknown ``kid``, SIG-09), the body is read
into the canonical order. Authorization (ORD-21): the order's ``checkout_id`` must
name a session created *with this merchant*; otherwise the webhook is
refused. Accepted events are signalled into the session workflow and
acknowledged at once (ORD-22) with the ``ucp`` object the OpenAPI's 200 requires;
the workflow dedups on the event's signed identity (the body's digest, not the
unsigned ``Webhook-Id``) and keeps the newer snapshot (ORD-25).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.dependencies import GatewayDep, ProfilesDep, RepositoryDep, SettingsDep
from api.openapi import documented
from contracts import ErrorCode, UcpError, signed_target_uri, text_headers
from contracts.ucp.order_snapshots import webhook_acknowledgement
from core.logging import bind
from merchants.webhooks import receive_order_webhook
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
    received = await receive_order_webhook(profiles, merchant_id, url=url, headers=headers, body=body)
    record = await repository.find_session_by_merchant_ids(
        merchant_id, merchant_checkout_id=str(received.order.get("checkout_id"))
    )
    if record is None:
        raise UcpError("no session of this merchant has that checkout", code=ErrorCode.NOT_FOUND)
    bind(platform_id=record.platform_id, session_id=record.session_id, merchant_id=merchant_id)
    event = OrderEvent(
        webhook_id=received.webhook_id,
        received_at=dt.datetime.now(dt.UTC),
        order=received.order,
        event_key=received.event_key,
        webhook_timestamp=received.timestamp,
    )
    await gateway.order_event(record.platform_id, record.session_id, event)
    return JSONResponse(webhook_acknowledgement())
