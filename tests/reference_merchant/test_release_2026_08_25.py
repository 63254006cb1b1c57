"""The reference merchant in its 2026-08-25 mode, checked with the ucp-sdk 0.5.x models of that release.

Over loopback HTTP: ``keys[]`` and ``supported_versions`` leaf profiles (overview "Protocol Version"),
the whole lifecycle with a 2026-08-25 platform (create -> update -> complete -> signed order webhooks ->
order read; escalation; asynchronous completion; cancel; idempotent replay), a 2026-04-08 platform served
through the leaf in 2026-04-08 shapes, the refusal when only 2026-08-25 is served, signatures by the
``keys[]`` key, and raw-body idempotency matching.
Covers OVR-09, OVR-45, SIG-07, SIG-21, SIG-28, IDM-05, IDM-07, CMP-01..05, ORD-06, ORD-23 in that release.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ucp_sdk.models.schemas.profile import BusinessSchema

from contracts import JwkSet, SigningKey
from reference_merchant import TrustedPlatform
from tests import spec_schemas
from tests.reference_merchant.conftest import PLATFORM, MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import PlatformSite, UcpClient, payment_body, ready_body
from tests.reference_merchant.release_harness import CURRENT, SdkClient, current_platform_profile

NAME = "agent0825"


async def _shop(
    start_merchant: StartMerchant, site: PlatformSite, key: SigningKey, **options: Any
) -> tuple[MerchantUnderTest, SdkClient]:
    site.profiles[NAME] = current_platform_profile(site.webhook_url(NAME), key)
    site.webhooks.pop(NAME, None)
    platforms = [
        TrustedPlatform(profile_url=site.profile_url(NAME)),
        TrustedPlatform(profile_url=site.profile_url(PLATFORM)),
    ]
    shop = await start_merchant(ucp_version=CURRENT, platforms=platforms, **options)
    client = SdkClient(
        shop.client.http,
        merchant_url=shop.url,
        endpoint=shop.config.endpoint,
        key=key,
        profile_url=site.profile_url(NAME),
    )
    return shop, client


@pytest.fixture
async def current(
    start_merchant: StartMerchant, platform_site: PlatformSite, platform_key: SigningKey
) -> tuple[MerchantUnderTest, SdkClient]:
    return await _shop(start_merchant, platform_site, platform_key, supported_versions=["2026-04-08"])


async def test_profile_publishes_keys_and_a_leaf_per_supported_release(
    current: tuple[MerchantUnderTest, SdkClient],
) -> None:
    """OVR-09/SIG-07 at 2026-08-25: keys[] (not signing_keys), supported_versions -> a complete 2026-04-08 leaf."""
    shop, client = current
    document = (await client.http.get(f"{shop.url}/.well-known/ucp")).json()
    BusinessSchema.model_validate(document)
    assert "signing_keys" not in document and JwkSet.from_list(document["keys"]).find(shop.merchant.keys.active.kid)
    assert document["ucp"]["version"] == CURRENT
    leaf_url = document["ucp"]["supported_versions"]["2026-04-08"]
    assert leaf_url == f"{shop.url}/.well-known/ucp/2026-04-08"
    leaf = (await client.http.get(leaf_url)).json()
    assert leaf["ucp"]["version"] == "2026-04-08" and "supported_versions" not in leaf["ucp"]
    assert leaf["signing_keys"] == document["keys"]
    if spec_schemas.SPEC_DIR is not None:
        spec_schemas.assert_valid(spec_schemas.business_profile_validator(), leaf)
    assert (await client.http.get(f"{shop.url}/.well-known/ucp/2026-01-11")).status_code == 404


async def test_only_2026_08_25_has_no_supported_versions_and_refuses_2026_04_08(
    start_merchant: StartMerchant, platform_site: PlatformSite, platform_key: SigningKey
) -> None:
    """OVR-45: a 2026-04-08 platform at a 2026-08-25-only merchant is version_unsupported, signed with keys[]."""
    shop, client = await _shop(start_merchant, platform_site, platform_key)
    document = (await client.http.get(f"{shop.url}/.well-known/ucp")).json()
    assert "supported_versions" not in document["ucp"]
    refused = await shop.client.create(ready_body())  # the conftest client: a 2026-04-08 platform profile
    assert refused.status == 422 and refused.json["code"] == "version_unsupported"


async def test_the_full_lifecycle_with_a_2026_08_25_platform(current: tuple[MerchantUnderTest, SdkClient]) -> None:
    """create -> update -> complete -> signed webhooks -> order read; every body valid for the 0.5.x SDK."""
    shop, client = current
    created = await client.create(ready_body())
    assert created.status == 201 and created.json["ucp"]["version"] == CURRENT
    assert (await client.verify(created)).key.kid == shop.merchant.keys.active.kid  # verified with keys[]
    options = created.json["fulfillment"]["methods"][0]["groups"][0]["options"]
    assert options[0]["description"] == {"plain": "Arrives in 5-7 business days"}  # a Description object
    checkout_id = created.json["id"]
    typed = ready_body(discounts={"codes": ["SUMMER20"]})
    typed["fulfillment"]["methods"][0]["destinations"][0]["type"] = "shipping_address"  # optional in requests
    updated = await client.update(checkout_id, typed)
    assert updated.status == 200 and updated.json["discounts"]["applied"][0]["code"] == "SUMMER20"
    completed = await client.complete(checkout_id, payment_body())
    assert completed.json["status"] == "completed"
    order_id = completed.json["order"]["id"]
    await shop.merchant.ship_order(order_id)
    assert await shop.merchant.deliver_webhooks() == 2
    hooks = shop.site.webhooks[NAME]
    assert [hook.error for hook in hooks] == [None, None]  # RFC 9421, verified with the profile's keys[]
    assert hooks[0].document["ucp"]["capabilities"] == {"dev.ucp.shopping.order": [{"version": CURRENT}]}
    order = await client.get_order(order_id)
    assert order.status == 200 and order.json["fulfillment"]["events"][0]["type"] == "shipped"


async def test_escalation_async_completion_and_cancel(current: tuple[MerchantUnderTest, SdkClient]) -> None:
    """CHK-09, CMP-05: 3-D Secure escalates and completes after the buyer; async settles; cancel is final."""
    shop, client = current
    first = (await client.create(ready_body())).json
    challenged = await client.complete(first["id"], payment_body("3ds_card"))
    assert challenged.json["status"] == "requires_escalation" and challenged.json["continue_url"]
    await shop.merchant.complete_buyer_handoff(first["id"])
    assert (await client.complete(first["id"], payment_body("3ds_card"))).json["status"] == "completed"
    second = (await client.create(ready_body())).json
    assert (await client.complete(second["id"], payment_body("async_ok"))).json["status"] == "complete_in_progress"
    shop.clock.advance(5)
    assert (await client.get(second["id"])).json["status"] == "completed"
    third = (await client.create(ready_body())).json
    assert (await client.cancel(third["id"])).json["status"] == "canceled"
    assert (await client.cancel(third["id"])).json["code"] == "transition_invalid"


async def test_idempotency_matches_the_raw_body_per_operation(current: tuple[MerchantUnderTest, SdkClient]) -> None:
    """signatures.md "Payload Matching": byte-equal bodies replay, re-serialised ones are 409; keys are per target."""
    _, client = current
    body = ready_body()
    first = await client.send("POST", "/checkout-sessions", body, idempotency_key="k" * 32, schema="checkout")
    replay = await client.send("POST", "/checkout-sessions", body, idempotency_key="k" * 32, schema="checkout")
    assert replay.status == 201 and replay.body == first.body
    spaced = json.dumps(body, indent=2).encode()
    conflict = await client.send("POST", "/checkout-sessions", raw=spaced, idempotency_key="k" * 32)
    assert conflict.status == 409 and conflict.json["code"] == "idempotency_key_reused"
    other = (await client.create(ready_body())).json
    elsewhere = await client.update(other["id"], body, idempotency_key="k" * 32)  # same key, another target
    assert elsewhere.status == 200 and elsewhere.json["id"] == other["id"]


async def test_a_2026_04_08_platform_is_served_through_the_leaf(
    current: tuple[MerchantUnderTest, SdkClient],
) -> None:
    """Request-time validation: a platform declaring 2026-04-08 gets 2026-04-08 shapes, signed, schema-valid."""
    shop, _ = current
    old = UcpClient(
        shop.client.http,
        merchant_url=shop.url,
        endpoint=shop.config.endpoint,
        key=shop.client.key,
        profile_url=shop.client.profile_url,
        profile_path="/.well-known/ucp/2026-04-08",
    )
    created = await old.create(ready_body())  # validated against the 2026-04-08 schemas and signature-checked
    assert created.status == 201 and created.json["ucp"]["version"] == "2026-04-08"
    option = created.json["fulfillment"]["methods"][0]["groups"][0]["options"][0]
    assert option["description"] == "Arrives in 5-7 business days"
    completed = await old.complete(created.json["id"], payment_body())
    assert completed.json["status"] == "completed"
    await shop.merchant.deliver_webhooks()
    [hook] = shop.site.webhooks[PLATFORM]
    assert hook.error is None and hook.document["ucp"]["version"] == "2026-04-08"


async def test_protocol_errors_are_signed_code_and_content(current: tuple[MerchantUnderTest, SdkClient]) -> None:
    """signatures.md "REST Error Response": {code, content}; this merchant signs errors too."""
    _, client = current
    unsigned = await client.send("POST", "/checkout-sessions", ready_body(), sign=False)
    assert unsigned.status == 401 and unsigned.json["code"] == "signature_missing" and unsigned.json["content"]
    missing = await client.get("chk_nope")
    assert missing.status == 200 and missing.json["ucp"] == {
        "version": CURRENT,
        "status": "error",
        "capabilities": {
            "dev.ucp.shopping.checkout": [{"version": CURRENT}],
            "dev.ucp.shopping.discount": [{"version": CURRENT}],
            "dev.ucp.shopping.fulfillment": [{"version": CURRENT}],
        },
    }
