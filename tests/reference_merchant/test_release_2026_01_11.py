"""The reference merchant in its 2026-01-11 mode: what the official samples' merchant of that release serves.

Over loopback HTTP with a 2026-01-11 platform client: the profile shape and schema, the whole lifecycle
(create -> update -> complete -> order webhooks -> order read; escalation; asynchronous completion;
cancel; idempotent replay), nothing signed, and the samples' FastAPI error bodies.
Covers OVR-09 (profile), CHK-01, CHK-09, CMP-01..05, ORD-06, ORD-17, ORD-23, IDM-05, IDM-07 in that release.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from contracts import JwkSet, SigningKey
from reference_merchant import ReferenceMerchant, TrustedPlatform
from tests.reference_merchant.conftest import MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import PlatformSite, platform_profile
from tests.reference_merchant.release_harness import (
    LEGACY,
    LegacyClient,
    assert_legacy_valid,
    legacy_complete_body,
    legacy_create_body,
    legacy_platform_profile,
    requires_legacy_spec,
)

NAME = "legacy"


@dataclass
class LegacyShop:
    under_test: MerchantUnderTest
    client: LegacyClient

    @property
    def merchant(self) -> ReferenceMerchant:
        return self.under_test.merchant

    def webhooks(self) -> list[Any]:
        return self.under_test.site.webhooks.get(NAME, [])


async def _legacy_shop(
    start_merchant: StartMerchant, site: PlatformSite, *, profile: dict[str, Any] | None = None, **options: Any
) -> LegacyShop:
    site.profiles[NAME] = profile if profile is not None else legacy_platform_profile(site.webhook_url(NAME))
    site.webhooks.pop(NAME, None)
    site.unsigned_ok.add(NAME)
    platforms = [TrustedPlatform(profile_url=site.profile_url(NAME))]
    shop = await start_merchant(ucp_version=LEGACY, platforms=platforms, **options)
    client = LegacyClient(shop.client.http, endpoint=shop.config.endpoint, profile_url=site.profile_url(NAME))
    return LegacyShop(shop, client)


@pytest.fixture
async def legacy(start_merchant: StartMerchant, platform_site: PlatformSite) -> LegacyShop:
    return await _legacy_shop(start_merchant, platform_site)


async def _ready(legacy: LegacyShop, items: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    created = await legacy.client.create(legacy_create_body(items))
    assert created.status == 201, created.body
    return dict(created.json)


async def test_profile_has_the_2026_01_11_shape_and_validates(legacy: LegacyShop) -> None:
    """OVR-09 at 2026-01-11: services an object with a rest binding, capabilities a list, payment.handlers, no keys."""
    response = await legacy.client.http.get(f"{legacy.under_test.url}/.well-known/ucp")
    document = response.json()
    assert response.status_code == 200 and "signature" not in response.headers
    ucp = document["ucp"]
    assert ucp["version"] == LEGACY and "payment_handlers" not in ucp
    assert ucp["services"]["dev.ucp.shopping"]["rest"]["endpoint"] == legacy.under_test.config.endpoint
    assert {entry["name"] for entry in ucp["capabilities"]} == {
        "dev.ucp.shopping.checkout",
        "dev.ucp.shopping.order",
        "dev.ucp.shopping.discount",
        "dev.ucp.shopping.fulfillment",
    }
    assert document["payment"]["handlers"][0]["id"] == "ref_tokenizer"
    assert "signing_keys" in document and document["signing_keys"] is None  # as the samples publish it
    assert_legacy_valid("discovery/profile.json", document)


@requires_legacy_spec
async def test_the_full_lifecycle_in_2026_01_11_shapes(legacy: LegacyShop) -> None:
    """create -> update -> complete -> order webhook -> order read, each body valid against the 2026-01-11 schemas."""
    checkout = await _ready(legacy)
    assert checkout["status"] == "ready_for_complete"
    assert checkout["ucp"]["capabilities"][0] == {"name": "dev.ucp.shopping.checkout", "version": LEGACY}
    assert checkout["order"] is None and checkout["payment"]["handlers"][0]["name"] == "com.example.tokenizer"
    assert "status" not in checkout["ucp"] and "context" not in checkout
    updated = await legacy.client.update(
        checkout["id"], legacy_create_body(id=checkout["id"], discounts={"codes": ["SAVE10"]})
    )
    assert updated.status == 200, updated.body
    totals = {entry["type"]: entry["amount"] for entry in updated.json["totals"]}
    assert totals["discount"] == 1000  # 2026-01-11 amounts are >= 0: a discount is subtracted, not negative
    assert totals["total"] == totals["subtotal"] - totals["discount"] + totals["fulfillment"] + totals["tax"]
    completed = await legacy.client.complete(checkout["id"], legacy_complete_body())
    assert completed.status == 200, completed.body
    body = completed.json
    assert body["status"] == "completed" and set(body["order"]) == {"id", "permalink_url"}
    assert body["payment"]["selected_instrument_id"] == "pi_1"
    assert body["payment"]["instruments"][0]["brand"] == "visa"
    assert "credential" not in body["payment"]["instruments"][0]

    assert await legacy.merchant.deliver_webhooks() == 1
    [hook] = legacy.webhooks()
    assert "signature" not in hook.headers and "request-signature" not in hook.headers  # the samples sign nothing
    event = hook.document
    assert {"event_id", "created_time"} <= set(event) and event["id"] == body["order"]["id"]
    assert_legacy_valid("shopping/order.json", event)
    assert event["line_items"][0]["quantity"] == {"total": 2, "fulfilled": 0}
    assert "currency" not in event and "label" not in event

    order = await legacy.client.get_order(body["order"]["id"])
    assert order.status == 200 and order.json["ucp"]["capabilities"] == [
        {"name": "dev.ucp.shopping.order", "version": LEGACY}
    ]
    await legacy.merchant.ship_order(body["order"]["id"])
    await legacy.merchant.deliver_webhooks()
    shipped = legacy.webhooks()[-1].document
    assert shipped["fulfillment"]["events"][0]["type"] == "shipped"
    assert shipped["line_items"][0]["status"] == "fulfilled"


async def test_escalations_then_completion(legacy: LegacyShop) -> None:
    """CHK-09, CMP-05: buyer review and 3-D Secure escalate with continue_url; after the buyer, complete proceeds."""
    checkout = await _ready(legacy, [("tshirt_red", 30)])  # above the review threshold
    assert checkout["status"] == "requires_escalation" and "?token=" in checkout["continue_url"]
    assert {m["severity"] for m in checkout["messages"] if m["type"] == "error"} == {"requires_buyer_review"}
    await legacy.merchant.complete_buyer_handoff(checkout["id"])
    challenged = await legacy.client.complete(checkout["id"], legacy_complete_body("3ds_card"))
    assert challenged.json["status"] == "requires_escalation"
    assert [m["code"] for m in challenged.json["messages"] if m["type"] == "error"] == ["requires_3ds"]
    await legacy.merchant.complete_buyer_handoff(checkout["id"])
    retried = await legacy.client.complete(checkout["id"], legacy_complete_body("3ds_card"))
    assert retried.json["status"] == "completed"


async def test_asynchronous_completion_and_cancel(legacy: LegacyShop) -> None:
    """complete_in_progress settles into completed with its order; a second session cancels, then cannot again."""
    first = await _ready(legacy)
    pending = await legacy.client.complete(first["id"], legacy_complete_body("async_ok"))
    assert pending.json["status"] == "complete_in_progress" and pending.json["order"] is None
    legacy.under_test.clock.advance(5)
    settled = await legacy.client.get(first["id"])
    assert settled.json["status"] == "completed" and settled.json["order"]["id"]
    second = await _ready(legacy)
    canceled = await legacy.client.cancel(second["id"])
    assert canceled.status == 200 and canceled.json["status"] == "canceled"
    again = await legacy.client.cancel(second["id"])
    assert again.status == 409 and again.json["code"] == "CHECKOUT_NOT_MODIFIABLE"


async def test_idempotency_matches_the_parsed_request(legacy: LegacyShop) -> None:
    """IDM-05/07 as the samples match: same JSON in another key order replays; another body is 409."""
    body = legacy_create_body()
    first = await legacy.client.send("POST", "/checkout-sessions", body, idempotency_key="k" * 32)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    replay = await legacy.client.send("POST", "/checkout-sessions", raw=reordered, idempotency_key="k" * 32)
    assert replay.status == 201 and replay.body == first.body
    assert await legacy.merchant.count_orders() == 0 and replay.json["id"] == first.json["id"]
    other = await legacy.client.send(
        "POST", "/checkout-sessions", legacy_create_body([("mug_ceramic", 1)]), idempotency_key="k" * 32
    )
    assert other.status == 409 and other.json == {
        "detail": "this Idempotency-Key was already used with a different request",
        "code": "IDEMPOTENCY_CONFLICT",
    }


async def test_error_bodies_are_the_samples(legacy: LegacyShop) -> None:
    """What a samples merchant answers: FastAPI 422 lists, {detail, code} errors, the version error object."""
    missing = await legacy.client.send(
        "POST", "/checkout-sessions", legacy_create_body(), headers={"Request-Signature": "", "Request-Id": ""}
    )
    assert missing.status == 422
    assert [error["loc"] for error in missing.json["detail"]] == [
        ["header", "request-signature"],
        ["header", "request-id"],
    ]
    no_currency = legacy_create_body()
    del no_currency["currency"]
    invalid = await legacy.client.send("POST", "/checkout-sessions", no_currency)
    assert invalid.status == 422 and invalid.json["detail"][0]["loc"] == ["body", "currency"]
    assert invalid.json["detail"][0]["type"] == "missing"
    unknown = await legacy.client.get("chk_nope")
    assert unknown.status == 404 and unknown.json == {
        "detail": "Checkout session not found.",
        "code": "RESOURCE_NOT_FOUND",
    }
    newer = await legacy.client.send(
        "GET",
        "/checkout-sessions/chk_nope",
        headers={"UCP-Agent": f'profile="{legacy.client.profile_url}"; version="2026-04-08"'},
    )
    assert newer.status == 400
    assert newer.json["detail"]["errors"][0]["code"] == "VERSION_UNSUPPORTED"
    checkout = (await legacy.client.create(legacy_create_body([("watch_engraved", 1)]))).json
    early = await legacy.client.complete(checkout["id"], legacy_complete_body())
    assert early.status == 409 and early.json["code"] == "CHECKOUT_NOT_MODIFIABLE"
    no_route = await legacy.client.send("GET", "/nowhere")
    assert no_route.status == 404 and no_route.json == {"detail": "Not Found"}
    stranger = LegacyClient(legacy.client.http, endpoint=legacy.client.endpoint, profile_url="http://127.0.0.1:9/p")
    refused = await stranger.get("chk_nope")
    assert refused.status == 403 and refused.json["code"] == "PROFILE_NOT_TRUSTED"


async def test_no_webhooks_for_a_platform_profile_of_another_release(
    start_merchant: StartMerchant, platform_site: PlatformSite, platform_key: SigningKey
) -> None:
    """The samples cannot read a 2026-04-08 platform profile, so such a platform gets no order webhooks."""
    profile = platform_profile(platform_site.webhook_url(NAME), platform_key)
    legacy = await _legacy_shop(start_merchant, platform_site, profile=profile)
    checkout = await _ready(legacy)
    completed = await legacy.client.complete(checkout["id"], legacy_complete_body())
    assert completed.json["status"] == "completed"
    assert await legacy.merchant.deliver_webhooks() == 0 and legacy.webhooks() == []


async def test_signed_webhooks_when_keys_are_published(
    start_merchant: StartMerchant, platform_site: PlatformSite
) -> None:
    """order.md 2026-01-11: with sign_webhooks_2026_01_11 the key is published and webhooks carry a detached JWS."""
    legacy = await _legacy_shop(start_merchant, platform_site, sign_webhooks_2026_01_11=True)
    profile = (await legacy.client.http.get(f"{legacy.under_test.url}/.well-known/ucp")).json()
    keys = JwkSet.from_list(profile["signing_keys"])
    checkout = await _ready(legacy)
    await legacy.client.complete(checkout["id"], legacy_complete_body())
    await legacy.merchant.deliver_webhooks()
    [hook] = legacy.webhooks()
    protected, empty, signature = hook.headers["request-signature"].split(".")
    header = json.loads(base64.urlsafe_b64decode(protected + "=="))
    assert empty == "" and header == {"alg": "ES256", "kid": keys.keys[0].kid, "b64": False, "crit": ["b64"]}
    raw = base64.urlsafe_b64decode(signature + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = keys.keys[0].public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(der, protected.encode() + b"." + hook.body, ec.ECDSA(hashes.SHA256()))  # raises if it does not
