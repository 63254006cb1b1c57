"""Continue-as-new hands the next run everything the last one knew (DESIGN "Checkout lifecycle").

A field the workflow keeps but does not carry is silently reset in the next run — e.g. an
unknown complete outcome would stop being polled. The round trip below catches any such field.
"""

from __future__ import annotations

import datetime as dt

from activities.types import MerchantProfileSummary
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import CarriedState, SessionStart, StatusChange

AT = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _carried() -> CarriedState:
    """Real values, and ``reconcile`` set against its default (the field a run once dropped)."""
    return CarriedState(
        merchant=MerchantProfileSummary(
            merchant_id="shop",
            profile_url="https://shop.example/.well-known/ucp",
            endpoint="https://shop.example/ucp/v1",
            version="2026-04-08",
            capabilities={"dev.ucp.shopping.checkout": "2026-04-08"},
        ),
        merchant_checkout_id="chk_1",
        checkout={"id": "chk_1", "status": "ready_for_complete"},
        status="ready_for_complete",
        created=True,
        closed_at=AT,
        created_at=AT - dt.timedelta(hours=1),
        order={"id": "ord_1"},
        order_event_ids=["wh_1"],
        status_history=[StatusChange(status="ready_for_complete", at=AT, cause="create")],
        idempotency={},
        merchant_call_seq=3,
        audit_seq=7,
        notification_seq=2,
        pending_audit=[],
        pending_notifications=[],
        reconcile=True,
    )


def test_continue_as_new_carries_every_field() -> None:
    carried = _carried()
    start = SessionStart(platform_id="agent", session_id="cs_1", merchant_id="shop", carried=carried)
    assert CheckoutSessionWorkflow(start)._continuation().carried == carried
