"""Inbound order webhooks through the API on the Temporal dev server, signed by the reference merchant's key.

Retries and replays are played the way a real network produces them: the
merchant's own queued deliveries, re-sent (same signed bytes) in another
order or under another ``Webhook-Id``. On the old code a re-sent older
snapshot replaced the newer one and was pushed to the platform again.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from contracts import checkout_workflow_id
from contracts.ucp import WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER
from tests.e2e.conftest import MERCHANT, Connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.waiting import eventually
from workflows.types import VIEW_QUERY, SessionView

BASE = f"/merchants/{MERCHANT}/checkout-sessions"


async def _completed_order(connector: Connector) -> tuple[str, str]:
    created = await connector.call(connector.alpha, "POST", BASE, ready_body())
    session_id = created.json()["id"]
    completed = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.json()["status"] == "completed", completed.text
    return session_id, str(completed.json()["order"]["id"])


async def _post(
    connector: Connector, body: bytes, *, webhook_id: str | None = None, timestamp: str | None = None
) -> httpx.Response:
    """POST ``body`` as the merchant signs a delivery (its key, its release's headers)."""
    url = f"{connector.url}/webhooks/merchants/{MERCHANT}"
    headers = {
        "Content-Type": "application/json",
        "UCP-Agent": f'profile="{connector.merchant.config.profile_url}"',
        WEBHOOK_ID_HEADER: webhook_id or str(uuid.uuid4()),
    }
    if timestamp is not None:
        headers[WEBHOOK_TIMESTAMP_HEADER] = timestamp
    signed = connector.merchant.release.webhook_headers(
        url=url, body=body, headers=headers, key=connector.merchant.keys.active
    )
    return await connector.http.post(url, content=body, headers=signed)


async def _view(connector: Connector, session_id: str) -> SessionView:
    handle = connector.env.client.get_workflow_handle(checkout_workflow_id(connector.alpha.id, session_id))
    return await handle.query(VIEW_QUERY, result_type=SessionView)


def _event_types(order: dict[str, Any] | None) -> list[str]:
    return [event["type"] for event in ((order or {}).get("fulfillment") or {}).get("events", [])]


async def _order_notes(connector: Connector) -> list[dict[str, Any]]:
    """The UCP order webhooks the platform received (the order entity, not a connector notification)."""
    return [note for note in connector.inbox.received if "line_items" in note and "type" not in note]


async def test_an_older_snapshot_never_replaces_a_newer_one(connector: Connector) -> None:
    """ORD-25, ORD-24: 'shipped' then a late 'placed' (re-sent under another Webhook-Id) leaves 'shipped'.

    The merchant also delivers its own queue in order meanwhile; whatever interleaving, the platform is
    never told about an order that went backwards.
    """
    session_id, order_id = await _completed_order(connector)
    assert await connector.merchant.ship_order(order_id)
    placed, shipped = await connector.merchant.webhook_deliveries(order_id)
    timestamp = str(int(time.time()))
    for delivery in (shipped, placed):  # the newer snapshot first
        answer = await _post(connector, delivery.body, timestamp=timestamp)
        assert answer.status_code == 200, answer.text
        assert answer.json()["ucp"]["version"] == "2026-04-08"  # ORD-22: the OpenAPI's 200 body has ucp
    await eventually(lambda _=None: _view(connector, session_id), lambda v: _event_types(v.order) == ["shipped"])
    # A newer event after it; notifications go out in order, so once it is in, nothing stale was pushed.
    assert await connector.merchant.deliver_order(order_id)
    delivered = (await connector.merchant.webhook_deliveries(order_id))[-1]
    assert (await _post(connector, delivered.body, timestamp=timestamp)).status_code == 200

    def has_delivered(items: list[dict[str, Any]]) -> bool:
        return any("delivered" in _event_types(note) for note in items)

    notes = await eventually(lambda _=None: _order_notes(connector), has_delivered)
    counts = [len(_event_types(note)) for note in notes]
    assert counts == sorted(counts), counts
    assert _event_types((await _view(connector, session_id)).order) == ["shipped", "delivered"]


async def test_the_same_signed_bytes_under_a_new_webhook_id_are_the_same_event(connector: Connector) -> None:
    """The dedup identity is what the merchant signed (the body), not the unsigned Webhook-Id header."""
    session_id, order_id = await _completed_order(connector)
    [placed] = await connector.merchant.webhook_deliveries(order_id)
    first = await _post(connector, placed.body, webhook_id=placed.id, timestamp=str(int(time.time())))
    assert first.status_code == 200, first.text
    for _ in range(3):
        replay = await _post(connector, placed.body, webhook_id=str(uuid.uuid4()), timestamp=str(int(time.time())))
        assert replay.status_code == 200, replay.text

    async def order_events() -> list[dict[str, Any]]:
        page = await connector.call(connector.alpha, "GET", f"/checkout-sessions/{session_id}/events?limit=200")
        events = page.json()["events"]
        return [event for event in events if event["action"] == "order_event" and event["outcome"] == "accepted"]

    assert await connector.merchant.ship_order(order_id)
    shipped = (await connector.merchant.webhook_deliveries(order_id))[-1]
    assert (await _post(connector, shipped.body, webhook_id=shipped.id, timestamp=str(int(time.time())))).is_success
    events = await eventually(order_events, lambda items: len(items) >= 2)
    assert [event["payload"]["webhook_id"] for event in events] == [placed.id, shipped.id], events
    view = await _view(connector, session_id)
    assert view.order is not None and _event_types(view.order) == ["shipped"]


async def test_a_newer_snapshot_replaces_rather_than_merges(connector: Connector) -> None:
    """ORD-24: each webhook is the full entity; a member the newer snapshot drops is gone, not merged."""
    session_id, order_id = await _completed_order(connector)
    [placed] = await connector.merchant.webhook_deliveries(order_id)
    older = json.loads(placed.body)
    older["label"] = "Gift for Jane"
    newer = json.loads(placed.body)
    newer.pop("label", None)
    newer["fulfillment"]["events"] = [
        {"id": "evt_1", "occurred_at": "2026-04-09T10:00:00Z", "type": "shipped", "line_items": []}
    ]
    now = int(time.time())
    assert (await _post(connector, json.dumps(older).encode(), timestamp=str(now))).status_code == 200
    assert (await _post(connector, json.dumps(newer).encode(), timestamp=str(now + 1))).status_code == 200
    view = await eventually(lambda _=None: _view(connector, session_id), lambda v: _event_types(v.order) == ["shipped"])
    assert view.order is not None and "label" not in view.order


async def test_webhook_timestamp_is_required_and_not_in_the_future(connector: Connector) -> None:
    """ORD-18 (rest.openapi.json webhook_timestamp, required integer): refused with a frozen code otherwise."""
    _, order_id = await _completed_order(connector)
    [placed] = await connector.merchant.webhook_deliveries(order_id)
    for timestamp, reason in ((None, "missing"), ("yesterday", "malformed"), (str(int(time.time()) + 3600), "future")):
        answer = await _post(connector, placed.body, timestamp=timestamp)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "validation_failed" and answer.json()["detail"]["reason"] == reason
