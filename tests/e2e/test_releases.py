"""The full lifecycle through the connector against the reference merchant in each UCP release mode (issue 15).

Real everything: an independent platform signer speaks UCP 2026-04-08 to the
API; the API and a worker run on the Temporal dev server; the reference
merchant speaks 2026-01-11, 2026-04-08 or 2026-08-25 (``ucp_version``) over
loopback HTTP, fetches the connector's profile (served in its release) and
sends its order webhooks back through the API. The platform sees the same
2026-04-08 API whatever the merchant speaks; the session records the release.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import checkout_workflow_id
from tests.e2e.conftest import MERCHANT, Connector, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.waiting import eventually

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
RELEASES = ["2026-01-11", "2026-04-08", "2026-08-25"]


@pytest.fixture(params=RELEASES)
async def stack(
    request: pytest.FixtureRequest, dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[str, Connector]]:
    release = str(request.param)
    async with running_connector(
        dev_server_env, tmp_path, merchant_release=release, async_completion_seconds=1
    ) as connector:
        yield release, connector


async def _events(connector: Connector, session_id: str) -> list[dict[str, Any]]:
    response = await connector.call(connector.alpha, "GET", f"/checkout-sessions/{session_id}/events?limit=200")
    return list(response.json()["events"])


async def _create_markers(handle: WorkflowHandle[Any, Any]) -> int:
    """Local-activity markers before the create's update completed (discovery would be one more)."""
    markers = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            return markers
        markers += event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    return markers


async def test_create_update_complete_webhooks_order_in_each_release(stack: tuple[str, Connector]) -> None:
    """Issue 15 "Done means": create -> update -> complete -> order webhooks -> order read, idempotent replays."""
    release, connector = stack
    alpha = connector.alpha
    key = str(uuid.uuid4())
    create = {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]}
    created = await connector.call(alpha, "POST", BASE, create, key=key)
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    assert created.json()["status"] == "incomplete" and created.json()["ucp"]["version"] == "2026-04-08"
    replay = await connector.call(alpha, "POST", BASE, create, key=key)
    assert (replay.status_code, replay.content) == (201, created.content)  # the same bytes, no second checkout

    update_key = str(uuid.uuid4())
    updated = await connector.call(
        alpha, "PUT", f"{BASE}/{session_id}", {**ready_body(), "id": session_id}, key=update_key
    )
    assert updated.status_code == 200 and updated.json()["status"] == "ready_for_complete", updated.text
    assert updated.json()["id"] == session_id  # the merchant got its own id, the platform sees ours

    completed = await connector.call(alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text
    order_id = completed.json()["order"]["id"]
    assert await connector.merchant.count_orders() == 1

    assert await connector.merchant.ship_order(order_id)
    await connector.merchant.deliver_webhooks()  # merchant -> API webhook route (in its release) -> workflow
    trail = await eventually(
        lambda _=None: _events(connector, session_id), lambda items: any(i["action"] == "order_event" for i in items)
    )
    negotiated = next(event for event in trail if event["action"] == "merchant_negotiated")
    assert negotiated["payload"]["release"] == release
    merchant_calls = [event for event in trail if event["action"].startswith("merchant.")]
    assert {event["payload"].get("release") for event in merchant_calls} == {release}
    unsigned = [event for event in merchant_calls if event["payload"].get("unsigned_response_accepted")]
    assert bool(unsigned) == (release == "2026-01-11")  # only the 2026-01-11 merchant answers unsigned

    order = await connector.call(alpha, "GET", f"/merchants/{MERCHANT}/orders/{order_id}")
    assert order.status_code == 200, order.text
    assert order.json()["currency"] == "USD" and order.json()["ucp"]["version"] == "2026-04-08"
    assert [event["type"] for event in order.json()["fulfillment"]["events"]] == ["shipped"]

    handle = connector.env.client.get_workflow_handle(checkout_workflow_id("alpha", session_id))
    description = await handle.describe()
    assert description.search_attributes.get("UcpMerchantVersion") == [release]
    assert (await connector.repository.verify_chains(session_id=session_id)).ok
    # Issue 13: the API negotiated the release for the create, so its task ran one local activity, the call.
    assert await _create_markers(handle) == 1


async def test_escalation_then_cancel_in_each_release(stack: tuple[str, Connector]) -> None:
    """requires_escalation with continue_url and a requires_buyer_* message, then cancel (CHK-09, CHK-29)."""
    _, connector = stack
    body = ready_body(items=[("watch_engraved", 1)])
    created = await connector.call(connector.alpha, "POST", BASE, body)
    assert created.status_code == 201, created.text
    escalated = created.json()
    assert escalated["status"] == "requires_escalation" and escalated["continue_url"]
    assert any(message.get("severity", "").startswith("requires_buyer") for message in escalated["messages"])
    canceled = await connector.call(connector.alpha, "POST", f"{BASE}/{escalated['id']}/cancel", {})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled", canceled.text


async def test_complete_in_progress_is_polled_to_completed_in_each_release(stack: tuple[str, Connector]) -> None:
    """CMP-03: an asynchronous completion answers complete_in_progress; the connector polls until completed."""
    _, connector = stack
    created = await connector.call(connector.alpha, "POST", BASE, ready_body())
    session_id = created.json()["id"]
    pending = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body("async_tok"))
    assert pending.status_code == 200 and pending.json()["status"] == "complete_in_progress", pending.text

    async def status(_: object = None) -> str:
        response = await connector.call(connector.alpha, "GET", f"{BASE}/{session_id}")
        return str(response.json().get("status"))

    assert await eventually(status, lambda value: value == "completed", seconds=30) == "completed"
    assert await connector.merchant.count_orders() == 1
