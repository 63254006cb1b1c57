"""Each fault switch, observed from the platform's side of a real HTTP connection.

Faults are set on the merchant object; no request header can turn them on. Covers TRN-10, IDM-05/12,
CMP-16 (commit then drop), SIG-10/11/12 (key rotation), SIG-26 (bad response signature).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from contracts import SignatureError
from reference_merchant import FaultPlan, Operation
from tests.reference_merchant.conftest import MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import payment_body, ready_body


async def test_latency_delays_every_matching_request(shop: MerchantUnderTest) -> None:
    """latency_seconds: a client with a shorter timeout gives up; without the fault the same call succeeds."""
    shop.merchant.faults.latency_seconds = 2.0
    with pytest.raises(httpx.TimeoutException):
        await shop.client.create(ready_body(), client_timeout=0.2)
    shop.merchant.faults.latency_seconds = 0
    assert (await shop.client.create(ready_body(), client_timeout=5)).status == 201


async def test_consecutive_503s_with_retry_after_then_recovery(shop: MerchantUnderTest) -> None:
    """unavailable_count: N signed 503 service_unavailable + Retry-After, nothing executed, then normal service."""
    shop.merchant.faults.unavailable_count = 2
    shop.merchant.faults.retry_after_seconds = 3
    key = str(uuid.uuid4())
    for _ in range(2):
        refused = await shop.client.create(ready_body(), idempotency_key=key)
        assert refused.status == 503 and refused.code == "service_unavailable"
        assert refused.headers["retry-after"] == "3"
    created = await shop.client.create(ready_body(), idempotency_key=key)
    assert created.status == 201  # the same key was never recorded by the refused attempts


async def test_faults_only_hit_the_operations_they_name(shop: MerchantUnderTest) -> None:
    """operations filter: a fault aimed at complete leaves create and get alone, and never the profile by default."""
    shop.merchant.faults.operations = {Operation.COMPLETE_CHECKOUT}
    shop.merchant.faults.unavailable_count = 1
    checkout = (await shop.client.create(ready_body())).json
    assert (await shop.client.get(checkout["id"])).status == 200
    assert (await shop.client.complete(checkout["id"], payment_body())).status == 503
    assert (await shop.client.complete(checkout["id"], payment_body())).json["status"] == "completed"
    shop.merchant.faults.operations = None
    shop.merchant.faults.unavailable_count = 1
    assert (await shop.client.http.get(f"{shop.url}/.well-known/ucp")).status_code == 200


async def test_hang_then_drop_times_the_client_out_and_executes_nothing(shop: MerchantUnderTest) -> None:
    """hang_count (then drop): longer than the client's timeout; the request is never executed."""
    checkout = (await shop.client.create(ready_body())).json
    shop.merchant.faults.operations = {Operation.COMPLETE_CHECKOUT}
    shop.merchant.faults.hang_count = 1
    shop.merchant.faults.hang_seconds = 0.5
    key = str(uuid.uuid4())
    with pytest.raises(httpx.TimeoutException):
        await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key, client_timeout=0.1)
    await asyncio.sleep(0.6)  # the hang ends server-side and the connection is dropped
    assert await shop.merchant.count_orders() == 0
    done = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert done.json["status"] == "completed"


async def test_hang_then_process_commits_after_the_client_gave_up(shop: MerchantUnderTest) -> None:
    """hang_then='process': the slow merchant executes late; the platform's retry with the same key replays it."""
    checkout = (await shop.client.create(ready_body())).json
    shop.merchant.faults.operations = {Operation.COMPLETE_CHECKOUT}
    shop.merchant.faults.hang_count = 1
    shop.merchant.faults.hang_seconds = 0.3
    shop.merchant.faults.hang_then = "process"
    key = str(uuid.uuid4())
    with pytest.raises(httpx.TimeoutException):
        await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key, client_timeout=0.1)
    for _ in range(200):
        if await shop.merchant.count_orders():
            break
        await asyncio.sleep(0.01)
    assert await shop.merchant.count_orders() == 1
    retry = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert retry.json["status"] == "completed" and await shop.merchant.count_orders() == 1


async def test_commit_then_drop_the_response(shop: MerchantUnderTest) -> None:
    """drop_after_commit_count: the order is placed, the client sees a dropped connection, the retry replays it."""
    checkout = (await shop.client.create(ready_body())).json
    shop.merchant.faults.operations = {Operation.COMPLETE_CHECKOUT}
    shop.merchant.faults.drop_after_commit_count = 1
    key = str(uuid.uuid4())
    with pytest.raises(httpx.TransportError):
        await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    order = await shop.merchant.order_for_checkout(checkout["id"])
    assert order is not None  # committed although the platform never heard about it
    retry = await shop.client.complete(checkout["id"], payment_body(), idempotency_key=key)
    assert retry.status == 200 and retry.json["order"]["id"] == order.id
    assert await shop.merchant.count_orders() == 1


async def test_bad_response_signature(shop: MerchantUnderTest) -> None:
    """bad_signature: bodies are intact but the signature does not verify (the platform must reject it)."""
    shop.merchant.faults.bad_signature = True
    reply = await shop.client.create(ready_body(), verify=False)
    assert reply.status == 201 and reply.json["status"] == "ready_for_complete"
    with pytest.raises(SignatureError) as refused:
        await shop.client.verify(reply)
    assert refused.value.code.value == "signature_invalid"
    shop.merchant.faults.bad_signature = False
    await shop.client.verify(await shop.client.get(reply.json["id"], verify=False))


async def test_key_rotation_publishes_signs_and_retires(shop: MerchantUnderTest) -> None:
    """SIG-10, SIG-11, SIG-12: new key published and used; old key still verifies until retired, then it does not."""
    old_kid = shop.merchant.keys.active.kid
    before = await shop.client.create(ready_body())
    new_kid = shop.merchant.rotate_signing_key()
    profile = (await shop.client.http.get(f"{shop.url}/.well-known/ucp")).json()
    assert [key["kid"] for key in profile["signing_keys"]] == [new_kid, old_kid]
    after = await shop.client.create(ready_body())
    assert (await shop.client.verify(after)).key.kid == new_kid
    assert (await shop.client.verify(before)).key.kid == old_kid  # still published: still verifies
    shop.merchant.retire_signing_key(old_kid)
    keys = await shop.client.merchant_keys(refresh=True)
    assert keys.find(old_kid) is None
    with pytest.raises(SignatureError):
        await shop.client.verify(before)


async def test_faults_come_from_the_configuration_per_instance(start_merchant: StartMerchant) -> None:
    """A config file's faults apply to that instance only, and reset() switches everything off."""
    shop = await start_merchant(faults={"unavailable_count": 1, "operations": ["create_checkout"]})
    other = await start_merchant()
    assert (await other.client.create(ready_body())).status == 201
    assert (await shop.client.create(ready_body())).status == 503
    shop.merchant.faults.unavailable_count = 3
    shop.merchant.faults.bad_signature = True
    shop.merchant.faults.reset()
    assert shop.merchant.faults == FaultPlan()
    assert (await shop.client.create(ready_body())).status == 201
