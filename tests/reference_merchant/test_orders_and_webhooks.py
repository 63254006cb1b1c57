"""Orders and signed order webhooks, received and verified the way a platform does.

The receiver (harness.PlatformSite) verifies each webhook with ``contracts.verify_request`` against the
keys in the merchant's /.well-known/ucp, fetched over HTTP, and records what it got.
Covers ORD-04, ORD-06..08, ORD-17..20, ORD-23..25, SIG-28, SIG-31, OVR-27.
"""

from __future__ import annotations

from typing import Any

from contracts.ucp import parse_order_event
from tests import spec_schemas
from tests.reference_merchant.conftest import PLATFORM, MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import payment_body, platform_profile, ready_body


async def _order(shop: MerchantUnderTest, items: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    checkout = (await shop.client.create(ready_body(items))).json
    return dict((await shop.client.complete(checkout["id"], payment_body())).json)


def _check_snapshot(document: dict[str, Any]) -> None:
    parse_order_event(document)
    if spec_schemas.SPEC_DIR is not None:
        spec_schemas.assert_valid(spec_schemas.validator(spec_schemas.ORDER), document)


async def test_order_created_webhook_is_signed_and_complete(shop: MerchantUnderTest) -> None:
    """ORD-18, ORD-19, ORD-23, SIG-28, SIG-31: Standard Webhooks headers, UCP-Agent = merchant profile, RFC 9421."""
    completed = await _order(shop)
    assert await shop.merchant.deliver_webhooks() == 1
    [hook] = shop.site.webhooks[PLATFORM]
    assert hook.error is None and hook.verified is not None
    assert hook.verified.key.kid == shop.merchant.keys.active.kid
    assert set(hook.verified.covered_components) == {
        "@method",
        "@authority",
        "@path",
        "ucp-agent",
        "content-digest",
        "content-type",
    }
    assert hook.headers["ucp-agent"] == f'profile="{shop.config.profile_url}"'
    assert hook.headers["webhook-id"] == hook.document["event_id"]
    assert int(hook.headers["webhook-timestamp"]) == int(shop.clock.now().timestamp())
    document = hook.document
    _check_snapshot(document)
    assert document["id"] == completed["order"]["id"] and document["checkout_id"] == completed["id"]
    assert document["ucp"]["capabilities"] == {"dev.ucp.shopping.order": [{"version": "2026-04-08"}]}  # OVR-27
    assert document["totals"] == completed["totals"]
    assert document["line_items"][0]["status"] == "processing"


async def test_get_order_returns_the_same_snapshot(shop: MerchantUnderTest) -> None:
    """ORD-06, ORD-07: GET /orders/{id} (signed request, signed response) is the full current snapshot."""
    completed = await _order(shop)
    reply = await shop.client.get_order(completed["order"]["id"])
    assert reply.status == 200
    await shop.merchant.deliver_webhooks()
    webhook = shop.site.webhooks[PLATFORM][0].document
    assert {k: v for k, v in webhook.items() if k not in {"event_id", "created_time"}} == reply.json


async def test_shipping_and_delivery_events(shop: MerchantUnderTest) -> None:
    """ORD-03, ORD-04, ORD-24: each event is a new full snapshot; shipped fulfils the items."""
    completed = await _order(shop, [("tshirt_red", 1), ("ebook_ucp", 1)])
    order_id = completed["order"]["id"]
    assert await shop.merchant.ship_order(order_id)
    assert not await shop.merchant.ship_order(order_id)  # shipping twice changes nothing
    shop.clock.advance(hours=30)
    assert await shop.merchant.deliver_order(order_id)
    await shop.merchant.deliver_webhooks()
    hooks = [hook.document for hook in shop.site.webhooks[PLATFORM]]
    assert len(hooks) == 3 and all(hook.error is None for hook in shop.site.webhooks[PLATFORM])
    for document in hooks:
        _check_snapshot(document)
    created, shipped, delivered = hooks
    assert [line["status"] for line in created["line_items"]] == ["processing", "processing"]
    assert [line["status"] for line in shipped["line_items"]] == ["fulfilled", "fulfilled"]
    assert [event["type"] for event in shipped["fulfillment"]["events"]] == ["shipped", "delivered"]
    shipped_event = shipped["fulfillment"]["events"][0]
    assert shipped_event["tracking_number"] and shipped_event["tracking_url"].startswith("https://")
    assert [event["type"] for event in delivered["fulfillment"]["events"]] == ["shipped", "delivered", "delivered"]
    assert delivered["fulfillment"]["events"][-1]["occurred_at"] == "2026-04-09T18:00:00Z"
    assert (await shop.client.get_order(order_id)).json["fulfillment"] == delivered["fulfillment"]


async def test_failed_deliveries_are_retried_with_backoff_until_acknowledged(shop: MerchantUnderTest) -> None:
    """ORD-25: same Webhook-Id and bytes on every retry, exponential backoff, in order per order."""
    shop.site.fail_next[PLATFORM] = 2
    completed = await _order(shop)
    await shop.merchant.ship_order(completed["order"]["id"])
    assert await shop.merchant.deliver_webhooks() == 0  # first attempt fails; 'shipped' waits behind it
    assert await shop.merchant.deliver_webhooks() == 0  # not due yet (backoff 1 s)
    shop.clock.advance(seconds=1)
    assert await shop.merchant.deliver_webhooks() == 0  # second attempt fails; next backoff 2 s
    shop.clock.advance(seconds=1)
    assert await shop.merchant.deliver_webhooks() == 0
    shop.clock.advance(seconds=1)
    assert await shop.merchant.deliver_webhooks() == 2  # third attempt succeeds, then 'shipped'
    received = shop.site.webhooks[PLATFORM]
    assert [hook.headers["webhook-id"] for hook in received[:3]] == [received[0].headers["webhook-id"]] * 3
    assert received[0].body == received[1].body == received[2].body
    assert all(hook.error is None for hook in received)
    assert [hook.document["fulfillment"]["events"] != [] for hook in received] == [False, False, False, True]
    deliveries = await shop.merchant.webhook_deliveries(completed["order"]["id"])
    assert [(d.event_type, d.attempts, d.delivered) for d in deliveries] == [
        ("order_created", 3, True),
        ("order_shipped", 1, True),
    ]


async def test_deliveries_are_abandoned_after_max_attempts(start_merchant: StartMerchant) -> None:
    """Retries end: after webhooks.max_attempts failures the event is marked abandoned."""
    shop = await start_merchant(webhooks={"max_attempts": 2, "retry_base_seconds": 1})
    shop.site.fail_next[PLATFORM] = 10
    await _order(shop)
    await shop.merchant.deliver_webhooks()
    shop.clock.advance(seconds=5)
    await shop.merchant.deliver_webhooks()
    shop.clock.advance(seconds=60)
    await shop.merchant.deliver_webhooks()
    [delivery] = await shop.merchant.webhook_deliveries()
    assert delivery.abandoned and not delivery.delivered and delivery.attempts == 2
    assert len(shop.site.webhooks[PLATFORM]) == 2


async def test_background_task_delivers_and_progresses_orders(start_merchant: StartMerchant) -> None:
    """With the background task on, webhooks go out and configured order progression happens without prompting."""
    shop = await start_merchant(run_background_tasks=True, auto_ship_after_seconds=60, auto_deliver_after_seconds=3600)
    await _order(shop)
    shop.clock.advance(seconds=60)
    await _until(lambda: len(shop.site.webhooks.get(PLATFORM, [])) >= 2)
    shop.clock.advance(seconds=3600)
    await _until(lambda: len(shop.site.webhooks.get(PLATFORM, [])) >= 3)
    kinds = [hook.document["fulfillment"]["events"][-1]["type"] for hook in shop.site.webhooks[PLATFORM][1:]]
    assert kinds == ["shipped", "delivered"]


async def _until(condition: Any, attempts: int = 400) -> None:
    import asyncio

    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_no_webhooks_without_a_negotiated_order_capability(shop: MerchantUnderTest, platform_key: Any) -> None:
    """ORD-17: the URL comes from the platform profile's order capability; without it nothing is sent."""
    shop.site.profiles[PLATFORM] = platform_profile(None, platform_key, **{"dev.ucp.shopping.order": None})
    await _order(shop)
    await shop.merchant.deliver_webhooks()
    assert shop.site.webhooks.get(PLATFORM, []) == []
    assert await shop.merchant.webhook_deliveries() == []


async def test_orders_are_visible_only_to_their_platform(start_merchant: StartMerchant, platform_site: Any) -> None:
    """ORD-08: another (trusted) platform asking for this order gets not_found."""
    from contracts import JwkSet, SigningKey
    from reference_merchant import TrustedPlatform
    from tests.reference_merchant.harness import UcpClient

    other_key = SigningKey.generate()
    other_url = "https://other-platform.example/.well-known/ucp"
    shop = await start_merchant(
        platforms=[
            TrustedPlatform(profile_url=platform_site.profile_url(PLATFORM)),
            TrustedPlatform(profile_url=other_url, jwks=JwkSet((other_key.public_jwk,)).to_dict()),
        ]
    )
    completed = await _order(shop)
    other = UcpClient(
        shop.client.http, merchant_url=shop.url, endpoint=shop.config.endpoint, key=other_key, profile_url=other_url
    )
    reply = await other.get_order(completed["order"]["id"])
    assert reply.status == 200 and reply.json["ucp"]["status"] == "error" and reply.code == "not_found"
