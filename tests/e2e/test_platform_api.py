"""A platform drives real checkouts through the connector API (issue 6, "Done means").

Real HTTP everywhere: independent platform signer -> API -> Temporal dev server ->
worker -> reference merchant, and merchant webhooks back through the API.
Covers DESIGN invariants 1-4, 7, 9 and SIG-21, SIG-28, SIG-31, IDM-05, IDM-07,
ORD-18, ORD-20, ORD-21, ORD-22, TRN-05.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from contracts import checkout_workflow_id
from tests.e2e.conftest import MERCHANT, Connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.waiting import eventually

BASE = f"/merchants/{MERCHANT}/checkout-sessions"


async def test_full_checkout_through_the_api(connector: Connector) -> None:
    """Create -> read -> update -> complete -> merchant ships (signed webhook) -> order and audit trail."""
    alpha = connector.alpha
    created = await connector.call(alpha, "POST", BASE, {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    assert session_id.startswith("cs_") and created.headers["Location"] == f"{BASE}/{session_id}"
    assert created.json()["status"] == "incomplete"

    read = await connector.call(alpha, "GET", f"{BASE}/{session_id}")
    assert read.status_code == 200 and read.json()["id"] == session_id

    updated = await connector.call(alpha, "PUT", f"{BASE}/{session_id}", ready_body())
    assert updated.status_code == 200 and updated.json()["status"] == "ready_for_complete", updated.text

    completed = await connector.call(alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text
    order_id = completed.json()["order"]["id"]

    assert await connector.merchant.ship_order(order_id)
    await connector.merchant.deliver_webhooks()  # merchant -> API webhook route -> workflow signal

    async def order() -> dict[str, Any]:
        response = await connector.call(alpha, "GET", f"/merchants/{MERCHANT}/orders/{order_id}")
        return dict(response.json()) if response.status_code == 200 else {}

    shipped = await eventually(
        order,
        lambda document: any(
            event.get("type") == "shipped" for event in document.get("fulfillment", {}).get("events", [])
        ),
    )
    assert shipped["id"] == order_id

    listing = await connector.call(alpha, "GET", "/checkout-sessions")
    assert [item["id"] for item in listing.json()["sessions"]] == [session_id]

    async def events() -> list[dict[str, Any]]:
        return list(
            (await connector.call(alpha, "GET", f"/checkout-sessions/{session_id}/events?limit=200")).json()["events"]
        )

    trail = await eventually(events, lambda items: any(item["action"] == "order_event" for item in items))
    assert [item["seq"] for item in trail] == list(range(1, len(trail) + 1))
    assert (await connector.repository.verify_chains(session_id=session_id)).ok

    notes = await eventually(
        lambda _=None: _inbox(connector), lambda items: any("line_items" in note for note in items)
    )
    # Order events arrive as UCP order webhooks (the order entity; checkout_id = the session the platform knows).
    assert connector.inbox.rejected == 0
    assert all(note.get("session_id", note.get("checkout_id")) == session_id for note in notes)


async def _inbox(connector: Connector) -> list[dict[str, Any]]:
    return list(connector.inbox.received)


async def test_order_reads_go_to_the_merchant_and_are_audited(connector: Connector) -> None:
    """DESIGN "Orders": GET of the order is proxied (signed, verified) and audited; ORD-06, ORD-11, ORD-16.

    The read right after complete finds the order (its index row is stored before complete answers);
    a forged merchant signature surfaces as 502 instead of an older snapshot; every read is in the
    session's audit trail; once the workflow has closed, the last signed snapshot is served.
    """
    alpha = connector.alpha
    created = await connector.call(alpha, "POST", BASE, ready_body())
    session_id = created.json()["id"]
    completed = await connector.call(alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.status_code == 200, completed.text
    order_id = completed.json()["order"]["id"]
    order_path = f"/merchants/{MERCHANT}/orders/{order_id}"

    assert await connector.merchant.ship_order(order_id)
    live = await connector.call(alpha, "GET", order_path)
    assert live.status_code == 200, live.text
    assert [event["type"] for event in live.json()["fulfillment"]["events"]] == ["shipped"]

    connector.merchant.faults.operations = {"get_order"}
    connector.merchant.faults.bad_signature = True
    forged = await connector.call(alpha, "GET", order_path)
    assert forged.status_code == 502 and forged.json()["code"] == "merchant_signature_invalid", forged.text
    connector.merchant.faults.reset()

    assert (await connector.call(connector.beta, "GET", order_path)).status_code == 404
    assert (await connector.call(alpha, "GET", f"/merchants/{MERCHANT}/orders/ord_unknown")).status_code == 404

    reading = {"read_order", "merchant.get_order"}

    async def reads() -> list[tuple[str, str]]:
        response = await connector.call(alpha, "GET", f"/checkout-sessions/{session_id}/events?limit=200")
        return [(e["action"], e["outcome"]) for e in response.json()["events"] if e["action"] in reading]

    trail = await eventually(reads, lambda seen: ("read_order", "rejected") in seen)
    assert trail == [
        ("merchant.get_order", "succeeded"),
        ("read_order", "accepted"),
        ("merchant.get_order", "failed"),
        ("read_order", "rejected"),
    ]

    handle = connector.env.client.get_workflow_handle(checkout_workflow_id(alpha.id, session_id))
    await handle.terminate(reason="test: the session's workflow has closed")
    closed = await connector.call(alpha, "GET", order_path)
    assert closed.status_code == 200 and closed.json()["id"] == order_id, closed.text
    assert [event["type"] for event in closed.json()["fulfillment"]["events"]] == ["shipped"]


async def test_replay_returns_identical_bytes_and_another_body_is_409(connector: Connector) -> None:
    """IDM-05 / IDM-07 through the API: same key + body -> same status and bytes; another body -> 409."""
    key = str(uuid.uuid4())
    body = json.dumps(ready_body()).encode()
    first = await connector.call(connector.alpha, "POST", BASE, raw=body, key=key)
    second = await connector.call(connector.alpha, "POST", BASE, raw=body, key=key)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    other = await connector.call(connector.alpha, "POST", BASE, ready_body([("mug_ceramic", 1)]), key=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    session_id = first.json()["id"]
    complete_key = str(uuid.uuid4())
    done = await connector.call(
        connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body(), key=complete_key
    )
    again = await connector.call(
        connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body(), key=complete_key
    )
    assert done.content == again.content and await connector.merchant.count_orders() == 1


async def test_another_platform_sees_nothing(connector: Connector) -> None:
    """A platform can never read or touch another platform's session: 404, not 403."""
    created = await connector.call(connector.alpha, "POST", BASE, ready_body())
    session_id = created.json()["id"]
    for method, path, body in (
        ("GET", f"{BASE}/{session_id}", None),
        ("PUT", f"{BASE}/{session_id}", ready_body()),
        ("POST", f"{BASE}/{session_id}/complete", payment_body()),
        ("POST", f"{BASE}/{session_id}/cancel", {}),
        ("GET", f"/checkout-sessions/{session_id}/events", None),
    ):
        response = await connector.call(connector.beta, method, path, body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
    assert (await connector.call(connector.beta, "GET", "/checkout-sessions")).json()["sessions"] == []
    assert await connector.merchant.count_orders() == 0


async def test_illegal_transition_is_409_without_a_merchant_call(connector: Connector) -> None:
    created = await connector.call(
        connector.alpha, "POST", BASE, {"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]}
    )
    session_id = created.json()["id"]
    response = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert response.status_code == 409 and response.json()["code"] == "transition_invalid"
    assert await connector.merchant.count_orders() == 0


async def test_unsigned_or_forged_merchant_webhooks_are_refused(connector: Connector) -> None:
    """ORD-20/SIG-31: a webhook must be signed by the merchant named in UCP-Agent."""
    url = f"{connector.url}/webhooks/merchants/{MERCHANT}"
    body = json.dumps({"id": "ord_x", "checkout_id": "chk_x"}).encode()
    unsigned = await connector.http.post(
        url,
        content=body,
        headers={"Content-Type": "application/json", "UCP-Agent": f'profile="{connector.merchant.config.profile_url}"'},
    )
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"
    signer = dataclasses.replace(connector.alpha.signer, profile_url=connector.merchant.config.profile_url)
    forged = await connector.http.post(
        url, content=body, headers=signer.sign("POST", url, body=body, extra_headers={"Webhook-Id": "w1"})
    )
    assert forged.status_code == 401 and forged.json()["code"] == "key_not_found"
    # Signed, but UCP-Agent names someone else (an unsigned impostor is refused as unsigned, before this).
    evil = dataclasses.replace(connector.alpha.signer, profile_url="https://evil.example/.well-known/ucp")
    impostor = await connector.http.post(
        url, content=body, headers=evil.sign("POST", url, body=body, extra_headers={"Webhook-Id": "w2"})
    )
    assert impostor.status_code == 403 and impostor.json()["code"] == "profile_not_trusted"


async def test_listing_pages_without_duplicates_while_sessions_are_created(connector: Connector) -> None:
    """DESIGN invariant 9 through the API: stable cursor paging under concurrent inserts."""
    initial = [(await connector.call(connector.alpha, "POST", BASE, ready_body())).json()["id"] for _ in range(5)]

    async def indexed() -> list[str]:
        page = await connector.call(connector.alpha, "GET", "/checkout-sessions?limit=200")
        return [item["id"] for item in page.json()["sessions"]]

    await eventually(indexed, lambda ids: set(initial) <= set(ids))
    seen: list[str] = []
    cursor = None
    while True:
        query = "/checkout-sessions?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await connector.call(connector.alpha, "GET", query)).json()
        seen += [item["id"] for item in page["sessions"]]
        await connector.call(connector.alpha, "POST", BASE, ready_body())  # inserted while paging
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "no duplicates"
    assert set(initial) <= set(seen), "no gaps among rows that existed when paging began"
    tampered = cursor or "x"
    response = await connector.call(connector.alpha, "GET", f"/checkout-sessions?cursor={tampered}A")
    assert response.status_code == 400 and response.json()["code"] == "cursor_invalid"


@pytest.mark.parametrize("path", ["/.well-known/ucp", f"/merchants/{MERCHANT}/.well-known/ucp"])
async def test_profiles_are_public_and_point_at_the_connector(connector: Connector, path: str) -> None:
    """OVR-32, OVR-33: served directly (no 3xx), Cache-Control public with max-age >= 60, never private/no-store.
    OVR-03, OVR-07: every capability entry has spec and schema; dev.ucp.* entries point at ucp.dev."""
    response = await connector.http.get(connector.url + path, follow_redirects=False)
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    directives = {part.strip().split("=")[0]: part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert int(directives["max-age"].split("=")[1]) >= 60
    assert not {"private", "no-store", "no-cache"} & set(directives)
    for name, entries in response.json()["ucp"]["capabilities"].items():
        for entry in entries:
            assert entry["spec"] and entry["schema"], name
            if name.startswith("dev.ucp."):
                assert entry["spec"].startswith("https://ucp.dev/") and entry["schema"].startswith("https://ucp.dev/")
    document = response.json()
    assert document["signing_keys"][0]["kid"] == connector.keys.active.kid
    if path.startswith("/merchants"):
        rest = document["ucp"]["services"]["dev.ucp.shopping"][0]
        assert rest["endpoint"] == f"{connector.url}/merchants/{MERCHANT}"
        assert set(document["ucp"]["capabilities"]) <= {
            "dev.ucp.shopping.checkout",
            "dev.ucp.shopping.fulfillment",
            "dev.ucp.shopping.discount",
            "dev.ucp.shopping.order",
        }
