"""``workflows.orders.accept``: how a session takes a verified order webhook (ORD-24, ORD-25, invariant 7).

Mutation testing (docs/spec-coverage.md "Mutation testing") found no unit
test of it: only the workflow tests on Temporal reach it. These call it with
the real Outbox, collecting the audit records as an operation does
(``decide_operation`` / ``settle``), so no workflow context is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from activities.types import AuditRecord
from tests.fixtures.bodies import order_document
from workflows import lifecycle, orders
from workflows.outbox import Outbox
from workflows.types import OrderEvent, SessionStart, SessionState

AT = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
SHIPPED = {"type": "shipped", "occurred_at": "2026-11-28T13:00:00Z", "line_items": [{"id": "li_1", "quantity": 2}]}


def _session(**fields: Any) -> tuple[SessionState, Outbox]:
    state = SessionState.model_validate({"created": True, "created_at": AT, "status": "completed", **fields})
    outbox = Outbox(SessionStart(platform_id="alpha", session_id="cs_1", merchant_id="shop"), state)
    outbox.decide_operation(AT)
    return state, outbox


def _audits(state: SessionState, outbox: Outbox) -> list[tuple[str, str, dict[str, Any]]]:
    outbox.settle([], None)
    records = [item for item in state.pending_audit if isinstance(item, AuditRecord)]
    del state.pending_audit[:]
    outbox.decide_operation(AT)
    return [(record.actor, record.outcome, record.payload) for record in records]


def _event(webhook_id: str, order: dict[str, Any], key: str | None = None, stamp: int | None = None) -> OrderEvent:
    return OrderEvent(webhook_id=webhook_id, received_at=AT, order=order, event_key=key, webhook_timestamp=stamp)


def test_an_event_is_taken_once_by_its_signed_identity_and_audited() -> None:
    """ORD-24 (a webhook is one event; dedup on what the merchant signed, not on Webhook-Id), invariant 7: the
    first is the session's order and is audited as accepted; the same signed bytes under a new Webhook-Id are not
    taken again; without an event key the Webhook-Id is the identity."""
    state, outbox = _session()
    placed = order_document()
    assert orders.accept(state, outbox, "shop", _event("wh-1", placed, key="k1", stamp=100)) == placed
    assert state.order == placed and state.order_timestamp == 100 and state.order_event_ids == ["k1"]
    assert _audits(state, outbox) == [("merchant:shop", "accepted", {"webhook_id": "wh-1", "order_id": "ord_1"})]
    assert orders.accept(state, outbox, "shop", _event("wh-2", placed, key="k1", stamp=101)) is None
    assert _audits(state, outbox) == [] and state.order_timestamp == 100
    assert orders.accept(state, outbox, "shop", _event("wh-3", placed, stamp=102)) == placed
    assert state.order_event_ids == ["k1", "wh-3"]


def test_an_older_snapshot_never_replaces_a_newer_one() -> None:
    """ORD-25: shipped, then a late retry of placed: the stored order stays shipped and the stale one is audited
    as rejected (reason stale), not shown."""
    state, outbox = _session()
    shipped = order_document(fulfillment={"expectations": [], "events": [SHIPPED]})
    assert orders.accept(state, outbox, "shop", _event("wh-1", shipped, key="new", stamp=200)) == shipped
    _audits(state, outbox)
    assert orders.accept(state, outbox, "shop", _event("wh-0", order_document(), key="old", stamp=100)) is None
    assert state.order == shipped and state.order_timestamp == 200
    assert _audits(state, outbox) == [
        ("merchant:shop", "rejected", {"webhook_id": "wh-0", "order_id": "ord_1", "reason": "stale"})
    ]


def test_the_order_takes_the_checkouts_currency_and_the_remembered_ids_stay_bounded() -> None:
    """ORD-06 (the full order entity: a 2026-01-11 order names no currency, its checkout does); the dedup memory
    keeps the latest MAX_REMEMBERED_WEBHOOK_IDS identities, dropping the oldest."""
    state, outbox = _session(checkout={"id": "chk_1", "status": "completed", "currency": "EUR"})
    bare = {key: value for key, value in order_document().items() if key != "currency"}
    taken = orders.accept(state, outbox, "shop", _event("wh-1", bare, key="k0"))
    assert taken is not None and taken["currency"] == "EUR" and state.order == taken
    limit = lifecycle.MAX_REMEMBERED_WEBHOOK_IDS
    state.order_event_ids = [f"id{i}" for i in range(limit)]
    orders.accept(state, outbox, "shop", _event("wh-x", order_document(), key="newest"))
    assert len(state.order_event_ids) == limit
    assert state.order_event_ids[-1] == "newest" and state.order_event_ids[0] == "id1"


def test_equal_logs_are_ordered_by_webhook_timestamp_and_audited_as_order_events() -> None:
    """ORD-25 with the same fulfillment and adjustment logs: the Webhook-Timestamp decides, so an earlier one is
    stale and a later one replaces the snapshot; both land in the trail as ``order_event`` (invariant 7)."""
    state, outbox = _session()
    assert orders.accept(state, outbox, "shop", _event("wh-1", order_document(), key="a", stamp=200)) is not None
    earlier = order_document(permalink_url="https://merchant.example/orders/ord_1?v=0")
    assert orders.accept(state, outbox, "shop", _event("wh-2", earlier, key="b", stamp=100)) is None
    later = order_document(permalink_url="https://merchant.example/orders/ord_1?v=2")
    assert orders.accept(state, outbox, "shop", _event("wh-3", later, key="c", stamp=300)) == later
    assert state.order_timestamp == 300
    outbox.settle([], None)
    actions = [(item.action, item.outcome) for item in state.pending_audit if isinstance(item, AuditRecord)]
    assert actions == [("order_event", "accepted"), ("order_event", "rejected"), ("order_event", "accepted")]
