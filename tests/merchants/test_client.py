"""``MerchantClient`` against the real reference merchant: signed calls, verified answers, key rotation.

The merchant verifies every request the client sends (it refuses unsigned or
mis-signed ones), so a success here is also proof that the ``RequestSigner``
signed what was sent.
"""

from __future__ import annotations

import uuid

import pytest

from contracts import ErrorCode, UcpError
from contracts.ucp import RestOperation
from merchants.errors import MerchantCallError
from tests.fixtures.bodies import payment_body, ready_body
from tests.fixtures.connector_stack import MERCHANT
from tests.merchants.conftest import ShopSetup


async def test_a_checkout_runs_to_its_order_through_signed_verified_calls(shop: ShopSetup) -> None:
    """CHK-01, CHK-15, ORD-10, SIG-16, SIG-21: create, complete and get_order; every answer verified and valid."""
    client = shop.connector.client
    key = str(uuid.uuid4())
    created = await client.call(MERCHANT, RestOperation.CREATE, body=ready_body(), idempotency_key=key)
    assert created.status_code == 201 and created.body["status"] == "ready_for_complete"
    assert created.signed_by == shop.merchant.keys.active.kid
    replayed = await client.call(MERCHANT, RestOperation.CREATE, body=ready_body(), idempotency_key=key)
    assert replayed.body["id"] == created.body["id"]  # IDM-12: same key and bytes, the merchant's cached answer

    checkout_id = created.body["id"]
    completed = await client.call(
        MERCHANT, RestOperation.COMPLETE, resource_id=checkout_id, body=payment_body(), idempotency_key=key + "-c"
    )
    assert completed.body["status"] == "completed"
    order_id = completed.body["order"]["id"]
    order = await client.call(MERCHANT, RestOperation.GET_ORDER, resource_id=order_id)
    assert order.body["id"] == order_id and order.body["checkout_id"] == checkout_id
    assert order.response_digest.startswith("sha-256=:")
    assert await shop.merchant.count_orders() == 1


async def test_rotation_is_followed_with_exactly_one_profile_fetch(shop: ShopSetup) -> None:
    """SIG-09, SIG-11: a response signed by a new kid re-reads the profile once, then verifies; later calls reuse it."""
    client, profiles = shop.connector.client, shop.connector.profiles
    created = await client.call(MERCHANT, RestOperation.CREATE, body=ready_body(), idempotency_key=str(uuid.uuid4()))
    fetches = profiles.fetches
    new_kid = shop.merchant.rotate_signing_key()
    read = await client.call(MERCHANT, RestOperation.GET, resource_id=created.body["id"])
    assert read.signed_by == new_kid and profiles.fetches == fetches + 1
    again = await client.call(MERCHANT, RestOperation.GET, resource_id=created.body["id"])
    assert again.signed_by == new_kid and profiles.fetches == fetches + 1


async def test_a_second_rotation_inside_the_refresh_floor_waits_for_the_floor(shop: ShopSetup) -> None:
    """SIG-09: one forced refresh per 60 s per origin; the second unknown kid is refused without a fetch."""
    client, profiles, clock = shop.connector.client, shop.connector.profiles, shop.connector.clock
    created = await client.call(MERCHANT, RestOperation.CREATE, body=ready_body(), idempotency_key=str(uuid.uuid4()))
    checkout_id = created.body["id"]
    shop.merchant.rotate_signing_key()
    await client.call(MERCHANT, RestOperation.GET, resource_id=checkout_id)
    fetches = profiles.fetches
    newest = shop.merchant.rotate_signing_key()
    with pytest.raises(MerchantCallError) as refused:
        await client.call(MERCHANT, RestOperation.GET, resource_id=checkout_id)
    assert refused.value.code is ErrorCode.MERCHANT_SIGNATURE_INVALID and not refused.value.retryable
    assert refused.value.detail["signature_code"] == "key_not_found" and profiles.fetches == fetches
    clock.now += 61
    read = await client.call(MERCHANT, RestOperation.GET, resource_id=checkout_id)
    assert read.signed_by == newest and profiles.fetches == fetches + 1


async def test_a_merchant_rejection_is_final_and_names_the_merchant_code(shop: ShopSetup) -> None:
    """TRN-08: a 4xx carries the merchant's {code, content}; not retryable."""
    body = {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}], "bogus": 1}
    with pytest.raises(MerchantCallError) as rejected:
        await shop.connector.client.call(MERCHANT, RestOperation.CREATE, body=body, idempotency_key=str(uuid.uuid4()))
    error = rejected.value
    assert error.code is ErrorCode.MERCHANT_REQUEST_REJECTED and not error.retryable
    assert error.detail["http_status"] == 400 and error.detail["merchant_code"]


async def test_an_unregistered_merchant_is_a_profile_error_before_any_request(shop: ShopSetup) -> None:
    """Invariant 1: only registered merchants are called; the cache's NOT_FOUND, not a MerchantCallError."""
    with pytest.raises(UcpError) as caught:
        await shop.connector.client.call("elsewhere", RestOperation.GET, resource_id="chk_1")
    assert not isinstance(caught.value, MerchantCallError) and caught.value.code is ErrorCode.NOT_FOUND
