"""Extension members per negotiation, through the API on the Temporal dev server against the reference merchant.

A member of an extension the merchant did not negotiate is refused with a
pointer (it used to be forwarded, or refused as an unknown field); a member of
a negotiated extension passes through to the merchant.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import MERCHANT, Connector, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.waiting import eventually

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def without_capability(name: str) -> Callable[[ASGI], ASGI]:
    """A merchant whose published profile no longer offers ``name`` (profiles are unsigned public data)."""
    return _profile_edit(lambda capabilities: capabilities.pop(name, None))


def with_capability(name: str, entry: dict[str, Any]) -> Callable[[ASGI], ASGI]:
    """A merchant whose published profile also offers ``name``."""
    return _profile_edit(lambda capabilities: capabilities.setdefault(name, [entry]))


def _profile_edit(change: Callable[[dict[str, Any]], object]) -> Callable[[ASGI], ASGI]:

    def front(app: ASGI) -> ASGI:
        async def rewritten(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != "/.well-known/ucp":
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def capture(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                    return
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                document = json.loads(b"".join(chunks))
                change(document["ucp"]["capabilities"])
                body = json.dumps(document).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})

            await app(scope, receive, capture)

        return rewritten

    return front


async def test_a_member_of_an_extension_not_negotiated_is_refused_with_a_pointer(connector: Connector) -> None:
    """OVR-23/24 (the intersection decides what a request may carry): AP2 Mandates is not in the
    reference merchant's profile, so ``ap2`` on complete is 400 extension_not_negotiated at /ap2."""
    created = await connector.call(connector.alpha, "POST", BASE, ready_body())
    session_id = created.json()["id"]
    body = {**payment_body(), "ap2": {"checkout_mandate": "eyJhbGciOiJFUzI1NiJ9.e30.sig~kb"}}
    refused = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "extension_not_negotiated" and refused.json()["pointer"] == "/ap2"
    assert refused.json()["detail"] == {"extension": "dev.ucp.shopping.ap2_mandate"}

    async def trail(_: object = None) -> list[tuple[str | None, Any]]:  # refusals reach the store from a spool
        events = (await connector.repository.list_session_events("api:alpha", "alpha")).items
        return [(event.error_code, event.payload.get("session_id")) for event in events]

    assert ("extension_not_negotiated", session_id) in await eventually(
        trail, lambda rows: ("extension_not_negotiated", session_id) in rows
    )


async def test_discounts_pass_only_where_the_discount_extension_is_negotiated(
    dev_server_env: WorkflowEnvironment, connector: Connector, tmp_path: Path
) -> None:
    """A negotiated extension's members pass through (the merchant applies the code); the same request to a
    merchant that does not offer dev.ucp.shopping.discount is refused before anything reaches it."""
    body = ready_body(discounts={"codes": ["SAVE10"]})
    applied = await connector.call(connector.alpha, "POST", BASE, body)
    assert applied.status_code == 201, applied.text
    assert applied.json()["discounts"]["codes"] == ["SAVE10"]

    front = without_capability("dev.ucp.shopping.discount")
    async with running_connector(dev_server_env, tmp_path / "plain", merchant_front=front) as plain:
        refused = await plain.call(plain.alpha, "POST", BASE, body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "extension_not_negotiated" and refused.json()["pointer"] == "/discounts"
        assert await plain.merchant.count_orders() == 0
        accepted = await plain.call(plain.alpha, "POST", BASE, ready_body())
        assert accepted.status_code == 201, accepted.text


CONSENT = {"analytics": False, "marketing": True}
BUYER_CONSENT = "dev.ucp.shopping.buyer_consent"


async def test_buyer_consent_goes_where_the_business_negotiated_it(
    dev_server_env: WorkflowEnvironment, connector: Connector, tmp_path: Path
) -> None:
    """buyer-consent.md: buyer.consent is a member of dev.ucp.shopping.buyer_consent. The reference merchant does
    not offer it: refused at /buyer/consent (the old code forwarded it); a merchant that offers it gets it."""
    body = ready_body()
    body["buyer"] = {**body["buyer"], "consent": CONSENT}
    refused = await connector.call(connector.alpha, "POST", BASE, body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "extension_not_negotiated" and refused.json()["pointer"] == "/buyer/consent"

    entry = {
        "version": "2026-04-08",
        "spec": "https://ucp.dev/2026-04-08/specification/buyer-consent",
        "schema": "https://ucp.dev/2026-04-08/schemas/shopping/buyer_consent.json",
        "extends": "dev.ucp.shopping.checkout",
    }
    async with running_connector(
        dev_server_env, tmp_path / "consent", merchant_front=with_capability(BUYER_CONSENT, entry)
    ) as consenting:
        created = await consenting.call(consenting.alpha, "POST", BASE, body)
        assert created.status_code == 201, created.text
        state = await consenting.merchant.checkout_state(
            created.json()["continue_url"].split("/checkout/")[1].split("?")[0]
        )
        assert (state.buyer or {}).get("consent") == CONSENT  # reached the merchant as sent
        malformed = ready_body()
        malformed["buyer"] = {**malformed["buyer"], "consent": {"marketing": "yes"}}
        invalid = await consenting.call(consenting.alpha, "POST", BASE, malformed)
        assert invalid.status_code == 400 and invalid.json()["pointer"] == "/buyer/consent/marketing", invalid.text
