"""Idempotency as signatures.md and checkout-rest.md require it (DESIGN.md invariant 2).

Covers IDM-03..10, IDM-12, CMP-16.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from contracts import JwkSet, SigningKey
from reference_merchant import TrustedPlatform
from tests.reference_merchant.conftest import PLATFORM, MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import PlatformSite, UcpClient, payment_body, ready_body


async def test_same_key_same_body_replays_byte_identical_without_a_second_session(shop: MerchantUnderTest) -> None:
    """IDM-05, IDM-08: the stored response comes back (same bytes, same status); nothing new is created."""
    key = str(uuid.uuid4())
    first = await shop.client.create(ready_body(), idempotency_key=key)
    second = await shop.client.create(ready_body(), idempotency_key=key)
    assert first.status == second.status == 201
    assert first.body == second.body
    assert second.headers["signature"]  # replays are signed like everything else


async def test_same_key_other_body_is_409(shop: MerchantUnderTest) -> None:
    """IDM-07: reuse with different parameters is idempotency_key_reused; the first result stands."""
    key = str(uuid.uuid4())
    first = await shop.client.create(ready_body(), idempotency_key=key)
    conflict = await shop.client.create(ready_body([("mug_ceramic", 1)]), idempotency_key=key)
    assert conflict.status == 409 and conflict.code == "idempotency_key_reused"
    replay = await shop.client.create(ready_body(), idempotency_key=key)
    assert replay.body == first.body


async def test_a_key_is_bound_to_its_operation(shop: MerchantUnderTest) -> None:
    """IDM-03: the same key on another operation or session is a conflict, not a silent replay."""
    key = str(uuid.uuid4())
    created = (await shop.client.create(ready_body(), idempotency_key=key)).json
    other = await shop.client.update(created["id"], ready_body(), idempotency_key=key)
    assert other.status == 409 and other.code == "idempotency_key_reused"


async def test_complete_twice_with_one_key_places_one_order(shop: MerchantUnderTest) -> None:
    """CMP-16, IDM-09, IDM-12: a retried complete returns the same order; a new key on a completed session is 409."""
    checkout = (await shop.client.create(ready_body())).json
    key = str(uuid.uuid4())
    first = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    retry = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert retry.body == first.body and retry.json["order"]["id"] == first.json["order"]["id"]
    fresh = await shop.client.complete(checkout["id"], payment_body())
    assert fresh.status == 409 and fresh.code == "transition_invalid"
    assert await shop.merchant.count_orders() == 1


async def test_concurrent_duplicates_execute_once(shop: MerchantUnderTest) -> None:
    """IDM-09: the same complete sent ten times at once still charges once."""
    checkout = (await shop.client.create(ready_body())).json
    key = str(uuid.uuid4())
    replies = await asyncio.gather(
        *(shop.client.complete(checkout["id"], payment_body(), idempotency_key=key) for _ in range(10))
    )
    assert {reply.body for reply in replies} == {replies[0].body}
    assert await shop.merchant.count_orders() == 1


async def test_concurrent_completes_with_different_keys_place_one_order(shop: MerchantUnderTest) -> None:
    """At most one order per checkout even when two intents race: one completes, the rest are 409."""
    checkout = (await shop.client.create(ready_body())).json
    replies = await asyncio.gather(*(shop.client.complete(checkout["id"], payment_body()) for _ in range(5)))
    assert sorted(reply.status for reply in replies) == [200, 409, 409, 409, 409]
    assert await shop.merchant.count_orders() == 1


async def test_errors_are_replayed_too(shop: MerchantUnderTest) -> None:
    """A 4xx answer is the operation's result: the same request with the same key gets the same bytes."""
    key = str(uuid.uuid4())
    raw = b'{"line_items": [}'
    first = await shop.client.send("POST", "/checkout-sessions", raw=raw, idempotency_key=key)
    second = await shop.client.send("POST", "/checkout-sessions", raw=raw, idempotency_key=key)
    assert first.status == second.status == 400 and first.body == second.body


async def test_store_unavailable_fails_closed_with_503(shop: MerchantUnderTest) -> None:
    """IDM-06: no idempotency state -> 503 idempotency_unavailable with Retry-After; nothing is executed."""
    checkout = (await shop.client.create(ready_body())).json
    key = str(uuid.uuid4())
    shop.merchant.faults.idempotency_unavailable = True
    refused = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert refused.status == 503 and refused.code == "idempotency_unavailable"
    assert refused.headers["retry-after"] == "1"
    assert await shop.merchant.count_orders() == 0
    shop.merchant.faults.idempotency_unavailable = False
    retried = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert retried.status == 200 and retried.json["status"] == "completed"  # 5xx answers are not stored


async def test_keys_are_kept_48_hours(shop: MerchantUnderTest) -> None:
    """IDM-04: a replay after 47 h is still answered from the store; after 48 h the key is forgotten."""
    key = str(uuid.uuid4())
    body = {"line_items": [{"item": {"id": "ebook_ucp"}, "quantity": 1}]}
    first = await shop.client.create(body, idempotency_key=key)
    shop.clock.advance(hours=47)
    assert (await shop.client.create(body, idempotency_key=key)).body == first.body
    shop.clock.advance(hours=1)
    await shop.merchant.tick()  # purges expired records
    again = await shop.client.create(body, idempotency_key=key)
    assert again.status == 201 and again.json["id"] != first.json["id"]


async def test_retries_must_resend_identical_bytes(shop: MerchantUnderTest) -> None:
    """IDM-12: the fingerprint is over the raw body bytes, so a re-serialised body is a different request."""
    key = str(uuid.uuid4())
    body = ready_body()
    first = await shop.client.create(body, idempotency_key=key)
    respaced = json.dumps(body, indent=1).encode()
    other_bytes = await shop.client.send("POST", "/checkout-sessions", raw=respaced, idempotency_key=key)
    assert first.status == 201 and other_bytes.status == 409


async def test_keys_belong_to_one_platform(start_merchant: StartMerchant, platform_site: PlatformSite) -> None:
    """A key is scoped to the verified platform: another platform's identical key is its own request, and
    neither can see the other's session (ORD-08)."""
    other_key = SigningKey.generate()
    other_url = "https://other-platform.example/.well-known/ucp"
    shop = await start_merchant(
        platforms=[
            TrustedPlatform(profile_url=platform_site.profile_url(PLATFORM)),
            TrustedPlatform(profile_url=other_url, jwks=JwkSet((other_key.public_jwk,)).to_dict()),
        ]
    )
    other = UcpClient(
        shop.client.http, merchant_url=shop.url, endpoint=shop.config.endpoint, key=other_key, profile_url=other_url
    )
    key = str(uuid.uuid4())
    mine = await shop.client.create(ready_body(), idempotency_key=key)
    theirs = await other.create(ready_body(), idempotency_key=key)
    assert mine.status == theirs.status == 201 and mine.json["id"] != theirs.json["id"]
    assert (await other.get(mine.json["id"])).code == "not_found"


async def test_concurrent_traffic_loses_nothing(shop: MerchantUnderTest) -> None:
    """Reads (HTTP and Python API) interleaved with mutations never undo or hide committed work."""
    checkouts = [(await shop.client.create(ready_body())).json["id"] for _ in range(8)]

    async def poll() -> None:
        for _ in range(30):
            await shop.merchant.count_orders()
            await shop.merchant.webhook_deliveries()
            await asyncio.sleep(0)

    replies = await asyncio.gather(
        *(shop.client.complete(checkout_id, payment_body()) for checkout_id in checkouts),
        *(shop.client.get(checkout_id) for checkout_id in checkouts),
        poll(),
        shop.merchant.deliver_webhooks(),
    )
    completed = [reply for reply in replies[: len(checkouts)] if reply is not None]
    assert {reply.json["status"] for reply in completed} == {"completed"}
    assert await shop.merchant.count_orders() == len(checkouts)
    for checkout_id in checkouts:
        assert await shop.merchant.order_for_checkout(checkout_id) is not None
