"""Every request the connector sends a merchant, captured at the merchant's door on a full session.

Create -> update (fulfillment selection) -> complete -> 3-D Secure escalation ->
buyer hand-off -> complete again -> order read, through the API on the Temporal
dev server against the reference merchant; an observer in front of the
merchant records each request as it arrived (headers and exact body bytes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import http_sf
from temporalio.testing import WorkflowEnvironment

from contracts import content_digest
from tests.e2e.conftest import MERCHANT, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class DoorLog:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def front(self, app: ASGI) -> ASGI:
        async def observed(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
            self.seen.append((scope["method"], scope["path"], headers, body))
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await app(scope, replay, send)

        return observed


async def test_every_merchant_request_carries_what_the_spec_requires(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """OVR-19, TRN-06, ORD-11: UCP-Agent is an RFC 8941 dictionary with a quoted profile URL on every request.
    IDM-01, IDM-02, IDM-03, IDM-11, TRN-07: POST/PUT carry a UUID Idempotency-Key, unique per operation and
    signed; every request a UUID Request-Id. TRN-03, TRN-13, SIG-15: a body is application/json, valid JSON,
    with Content-Digest over the exact bytes and Signature-Input/Signature covering it. CHK-15, FUL-14: the fulfillment
    selection goes by a full PUT. CMP-05: after 3-D Secure (requires_escalation at complete) and the buyer's
    hand-off on continue_url, completing again works. CMP-16: a retry of complete is never sent with a new key
    for the same operation (each complete attempt is its own key, none reused across operations)."""
    door = DoorLog()
    async with running_connector(dev_server_env, tmp_path, merchant_front=door.front) as stack:
        created = await stack.call(
            stack.alpha, "POST", BASE, {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]}
        )
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        updated = await stack.call(stack.alpha, "PUT", f"{BASE}/{session_id}", ready_body())
        assert updated.json()["status"] == "ready_for_complete", updated.text
        challenged = await stack.call(
            stack.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body(token="3ds_challenge")
        )
        assert challenged.json()["status"] == "requires_escalation", challenged.text
        continue_url = challenged.json()["continue_url"]
        assert any(message.get("code") == "requires_3ds" for message in challenged.json()["messages"])
        merchant_checkout_id = urlsplit(continue_url).path.rsplit("/", 1)[-1]
        await stack.merchant.complete_buyer_handoff(merchant_checkout_id)  # the buyer passes the challenge
        # The platform re-reads the session after the hand-off (item 1's read-through) or re-sends the update.
        refreshed = await stack.call(stack.alpha, "PUT", f"{BASE}/{session_id}", ready_body())
        assert refreshed.json()["status"] == "ready_for_complete", refreshed.text
        completed = await stack.call(stack.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
        assert completed.json()["status"] == "completed", completed.text
        order_id = completed.json()["order"]["id"]
        order = await stack.call(stack.alpha, "GET", f"/merchants/{MERCHANT}/orders/{order_id}")
        assert order.status_code == 200, order.text

    calls = [(method, path, headers, body) for method, path, headers, body in door.seen if "/ucp/v1/" in path]
    assert {method for method, *_ in calls} >= {"POST", "PUT", "GET"}
    keys: list[str] = []
    for method, _path, headers, body in calls:
        agent: Any = http_sf.parse(headers["ucp-agent"].encode(), tltype="dictionary")
        assert type(agent["profile"][0]) is str and agent["profile"][0].endswith(
            f"/.well-known/ucp?merchant={MERCHANT}"
        )
        assert uuid.UUID(headers["request-id"])
        signature_input = headers["signature-input"]
        assert "signature" in headers and '"ucp-agent"' in signature_input
        if method in ("POST", "PUT"):
            keys.append(headers["idempotency-key"])
            assert uuid.UUID(headers["idempotency-key"]) and '"idempotency-key"' in signature_input
        if body:
            assert headers["content-type"] == "application/json" and isinstance(json.loads(body), dict)
            assert headers["content-digest"] == content_digest(body) and '"content-digest"' in signature_input
        if method == "PUT":
            sent = json.loads(body)
            method_sent = sent["fulfillment"]["methods"][0]
            assert method_sent["selected_destination_id"] and method_sent["groups"][0]["selected_option_id"]
            assert sent["line_items"] and sent["buyer"]  # full replacement: every writable field again
    completes = [headers["idempotency-key"] for method, path, headers, _ in calls if path.endswith("/complete")]
    assert len(completes) == 2 and len(set(keys)) == len(keys), "one key per operation, never reused across them"
