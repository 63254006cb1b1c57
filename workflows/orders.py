"""Merchant order webhooks as the session takes them: deduplicated, never older than what it holds, audited.

Kept out of the workflow class (``CheckoutSessionWorkflow.order_event``) so the
rules read in one place: one event per Webhook-Id (or the event key), ORD-24;
a late retry of an older snapshot never replaces a newer one, ORD-25; every
accepted or refused event is in the audit trail (DESIGN.md invariant 7).
"""

from __future__ import annotations

from typing import Any

from contracts.ucp.order_snapshots import is_older_snapshot
from workflows import lifecycle
from workflows.outbox import Outbox
from workflows.types import OrderEvent, SessionState


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
