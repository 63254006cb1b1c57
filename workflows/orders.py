"""Merchant order webhooks as the session takes them: deduplicated, never older than what it holds, audited.

Kept out of the workflow class (``CheckoutSessionWorkflow.order_event``) so the
rules read in one place: one event per Webhook-Id (or the event key), ORD-24;
a late retry of an older snapshot never replaces a newer one, ORD-25; every
accepted or refused event is in the audit trail (DESIGN.md invariant 7).
The platform's order read (:func:`read`) is here too, so the checkout workflow
and, once it has closed, the session's order workflow (``workflows/order.py``)
apply the same rules.
"""

from __future__ import annotations

from typing import Any

from activities.errors import encode_failure
from activities.types import MerchantOperation
from contracts import ErrorCode, UcpError
from contracts.ucp.order_snapshots import is_older_snapshot
from workflows import lifecycle
from workflows.merchant_calls import MerchantCalls
from workflows.outbox import Outbox
from workflows.types import ORDER_READ_UPDATE, OrderEvent, OrderRead, OrderReadResult, SessionState


def accept(state: SessionState, outbox: Outbox, merchant_id: str, event: OrderEvent) -> dict[str, Any] | None:
    """The order the event brings, now the session's snapshot; ``None`` when it is a duplicate or stale."""
    identity = event.event_key or event.webhook_id
    if identity in state.order_event_ids:
        return None
    state.order_event_ids.append(identity)
    del state.order_event_ids[: -lifecycle.MAX_REMEMBERED_WEBHOOK_IDS]
    order = lifecycle.order_with_currency(event.order, state.checkout)
    facts = {"webhook_id": event.webhook_id, "order_id": str(event.order.get("id"))}
    if is_older_snapshot(order, event.webhook_timestamp, state.order, state.order_timestamp):
        outbox.audit(
            actor=f"merchant:{merchant_id}",
            action="order_event",
            outcome="rejected",
            payload={**facts, "reason": "stale"},
        )
        return None
    state.order, state.order_timestamp = order, event.webhook_timestamp
    outbox.audit(actor=f"merchant:{merchant_id}", action="order_event", outcome="accepted", payload=facts)
    return order


def read_refusal(state: SessionState, merchant_id: str, request: OrderRead) -> Exception | None:
    """The encoded refusal of a read of an order this session did not place (or at another merchant)."""
    if request.merchant_id != merchant_id or request.order_id != lifecycle.order_id(state):
        return encode_failure(UcpError("no such order", code=ErrorCode.NOT_FOUND))
    return None


async def read(state: SessionState, outbox: Outbox, merchant: MerchantCalls, request: OrderRead) -> OrderReadResult:
    """GET of the order, proxied to the merchant and audited (DESIGN "Orders").

    The merchant's signed order is the full entity, so it replaces the
    snapshot the webhooks left. A read changes nothing at the merchant, so it
    takes no lock and no idempotency record; a failed read is reported as
    it is, never papered over with the older snapshot.
    """
    outcome = await merchant.call(MerchantOperation.GET_ORDER, request.order_id)
    if isinstance(outcome, UcpError):
        result = OrderReadResult(http_status=outcome.http_status, body=outcome.to_json_dict())
    else:
        body = lifecycle.order_with_currency(outcome.body, state.checkout)
        if not lifecycle.is_error_envelope(body):
            state.order = body
        result = OrderReadResult(http_status=200, body=body)
    outbox.audit_answer(ORDER_READ_UPDATE, result.http_status, result.body, None, order_id=request.order_id)
    return result
