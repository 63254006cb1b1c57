"""``MerchantClient`` against the edge merchant: what we send, and every way a merchant's answer can be wrong.

Each case pins the frozen code, the ``retryable`` flag and the detail the
workflow sees (through ``activities.errors.encode_failure``, see
test_activity_mapping.py), so moving this logic out of the activity changed nothing.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from contracts import ErrorCode, SigningKey, UcpError, canonical_json, format_ucp_agent
from contracts.ucp import RestOperation
from core.outbound_http import MAX_RESPONSE_BYTES
from merchants.errors import MerchantCallError
from merchants.platform_profile import profile_url
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.fixtures.http import free_port
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Reply, connector_for


async def _refused(edge: EdgeSetup, operation: RestOperation = RestOperation.GET) -> MerchantCallError:
    with pytest.raises(MerchantCallError) as caught:
        await edge.connector.client.call(MERCHANT, operation, resource_id="chk_1")
    return caught.value


async def test_every_request_is_signed_with_ucps_coverage(edge: EdgeSetup) -> None:
    """SIG-16..19, IDM-12: covered components per UCP; the body is canonical JSON, byte-identical on a retry."""
    client = edge.connector.client
    key = str(uuid.uuid4())
    await client.call(MERCHANT, RestOperation.CREATE, body={"b": 1, "a": [2, 1]}, idempotency_key=key)
    await client.call(MERCHANT, RestOperation.CREATE, body={"a": [2, 1], "b": 1}, idempotency_key=key)
    await client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    await client.call(MERCHANT, RestOperation.CANCEL, resource_id="chk_1", idempotency_key=key + "-x")
    create, retry, read, cancel = edge.merchant.received
    assert all(request.error is None and request.verified is not None for request in edge.merchant.received)
    assert create.verified is not None
    assert " ".join(create.verified.covered_components) == (
        "@method @authority @path ucp-agent idempotency-key content-digest content-type"
    )
    assert create.body == retry.body == canonical_json({"a": [2, 1], "b": 1})
    assert create.headers["idempotency-key"] == retry.headers["idempotency-key"] == key
    assert create.headers["ucp-agent"] == format_ucp_agent(profile_url(CONNECTOR_BASE, MERCHANT))
    assert create.headers["request-id"] != retry.headers["request-id"]
    assert (read.method, read.path, read.body) == ("GET", "/ucp/v1/checkout-sessions/chk_1", b"")
    assert read.verified is not None and read.verified.covered_components == (
        "@method",
        "@authority",
        "@path",
        "ucp-agent",
    )
    assert (cancel.method, cancel.path, cancel.body) == ("POST", "/ucp/v1/checkout-sessions/chk_1/cancel", b"{}")
    assert cancel.verified is not None and "content-digest" in cancel.verified.covered_components


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_overload_and_server_errors_are_retryable_with_the_merchants_delay(edge: EdgeSetup, status: int) -> None:
    """TRN-10: 429/5xx are retried, Retry-After (seconds) becomes the retry delay; nothing else is trusted."""
    edge.merchant.reply = Reply(status=status, body=b"not even json", headers={"Retry-After": "7"}, signed=False)
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_UNAVAILABLE and error.retryable and error.retry_delay == 7.0
    assert error.detail == {"http_status": status} and error.retry_after is None


async def test_a_redirect_is_refused_and_not_followed(edge: EdgeSetup) -> None:
    """OVR-38: no redirects; a redirected signed request would be a relay."""
    location = f"{edge.merchant.url}/ucp/v1/elsewhere"
    edge.merchant.reply = Reply(status=302, body=b"", headers={"Location": location})
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and not error.retryable
    assert error.detail == {"http_status": 302} and len(edge.merchant.received) == 1


async def test_an_unsigned_success_is_refused(edge: EdgeSetup) -> None:
    """SIG-21: a success must be signed."""
    edge.merchant.reply = Reply(signed=False)
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID and error.detail == {"reason": "unsigned"}


async def test_an_unsigned_rejection_is_accepted_as_the_merchants_final_word(edge: EdgeSetup) -> None:
    """SIG-30, TRN-08: an unsigned 4xx is read; its code and content are kept, truncated."""
    body = canonical_json({"code": "c" * 150, "content": "x" * 400})
    edge.merchant.reply = Reply(status=409, body=body, signed=False)
    error = await _refused(edge, RestOperation.GET)
    assert error.code is ErrorCode.MERCHANT_REQUEST_REJECTED and not error.retryable
    assert error.detail == {"http_status": 409, "merchant_code": "c" * 100, "merchant_content": "x" * 300}
    assert error.content == "merchant rejected get_checkout with HTTP 409"


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(content_type="text/plain"), "content type text/plain"),
        (Reply(body=canonical_json({"id": "chk_1"})), "not valid UCP"),
        (Reply(body=b"{not json"), "not valid UCP"),
    ],
)
async def test_a_signed_success_must_be_a_valid_ucp_checkout(edge: EdgeSetup, reply: Reply, fragment: str) -> None:
    """CHK-07, TRN-04: application/json and a checkout that validates; else merchant_response_invalid."""
    edge.merchant.reply = reply
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and not error.retryable and fragment in error.content


async def test_an_order_operation_validates_an_order(edge: EdgeSetup) -> None:
    """ORD-10: get_order's answer is checked as an order, so a checkout body is refused there."""
    with pytest.raises(MerchantCallError) as caught:
        await edge.connector.client.call(MERCHANT, RestOperation.GET_ORDER, resource_id="ord_1")
    assert caught.value.code is ErrorCode.MERCHANT_RESPONSE_INVALID
    assert edge.merchant.received[-1].path == "/ucp/v1/orders/ord_1"


async def test_a_body_changed_after_signing_is_a_digest_mismatch(edge: EdgeSetup) -> None:
    """SIG-24: the digest is checked over the raw bytes before the signature."""
    edge.merchant.reply = Reply(tamper=True)
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID
    assert error.detail["signature_code"] == "digest_mismatch"


async def test_an_oversized_answer_is_refused_without_retry(edge: EdgeSetup) -> None:
    """Invariant 8: at most MAX_RESPONSE_BYTES are read from a counterparty."""
    edge.merchant.reply = Reply(body=b" " * (MAX_RESPONSE_BYTES + 1), signed=False)
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and not error.retryable


async def test_a_slow_merchant_is_a_retryable_timeout(edge: EdgeSetup) -> None:
    """TRN-10: explicit read timeout; a timeout may be retried (same key, same bytes)."""
    edge.merchant.reply = Reply(delay=1.5)
    timeout = httpx.Timeout(connect=2.0, read=0.3, write=2.0, pool=2.0)
    async with connector_for(edge.merchant.url, edge.connector.keys, http_timeout=timeout) as hasty:
        with pytest.raises(MerchantCallError) as caught:
            await hasty.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    assert caught.value.code is ErrorCode.MERCHANT_TIMEOUT and caught.value.retryable


async def test_an_unreachable_endpoint_is_retryable(edge: EdgeSetup) -> None:
    edge.merchant.endpoint = f"http://127.0.0.1:{free_port()}/ucp/v1"
    error = await _refused(edge)
    assert error.code is ErrorCode.MERCHANT_UNAVAILABLE and error.retryable and error.retry_delay is None


# --- the merchant's keys: one refresh on an unknown kid, within the budget, and removal --------------------------


async def test_a_removed_key_stops_verifying_and_each_message_refreshes_at_most_once(edge: EdgeSetup) -> None:
    """SIG-09, SIG-11, SIG-12: new kid -> one fetch then verified; removed kid -> refused, one fetch per floor."""
    merchant, client, profiles, clock = (
        edge.merchant,
        edge.connector.client,
        edge.connector.profiles,
        edge.connector.clock,
    )
    removed = merchant.signer
    assert (await client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")).signed_by == removed.kid
    assert profiles.fetches == 1

    replacement = SigningKey.generate()
    merchant.published, merchant.signer = [replacement], replacement
    assert (await client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")).signed_by == replacement.kid
    assert profiles.fetches == 2  # exactly one refresh for the unknown kid

    merchant.signer = removed  # a key the merchant no longer publishes (retired, or stolen)
    error = await _refused(edge)
    assert error.detail["signature_code"] == "key_not_found" and profiles.fetches == 2  # budget spent: no fetch
    clock.now += 61
    error = await _refused(edge)
    assert error.detail["signature_code"] == "key_not_found"
    assert (
        profiles.fetches == 3
    )  # one refresh, and the re-read profile still lacks the kid: refused, not refreshed again


async def test_a_profile_that_fails_during_the_refresh_is_a_profile_error(edge: EdgeSetup) -> None:
    """OVR-39: an unknown kid while the profile is down is profile_unreachable (retryable), not a bad signature."""
    await edge.connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    edge.merchant.signer = SigningKey.generate()
    edge.merchant.profile_status = 503
    with pytest.raises(UcpError) as caught:
        await edge.connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    assert caught.value.code is ErrorCode.PROFILE_UNREACHABLE and not isinstance(caught.value, MerchantCallError)
