"""``receive_order_webhook`` rules that mutation testing showed untested (docs/spec-coverage.md "Mutation testing").

Same set-up as tests/merchants/test_webhooks.py (the edge merchant's profile
over loopback, the real profile cache, webhooks signed as the reference
merchant signs them).
"""

from __future__ import annotations

import time

import pytest

from contracts import ErrorCode, UcpError, canonical_json, sign_request
from merchants.webhooks import receive_order_webhook
from tests.fixtures.bodies import order_document
from tests.merchants.conftest import EdgeSetup
from tests.merchants.test_webhooks import MERCHANT, URL, _webhook

BODY = canonical_json(order_document())


async def test_an_unsigned_webhook_is_refused_as_absent_before_the_profile_is_read(edge: EdgeSetup) -> None:
    """ORD-20 (webhooks are signed), SIG-23: no signature header at all is signature_missing (reason absent), decided
    without fetching the merchant's profile, so unsigned traffic costs the merchant nothing."""
    headers = _webhook(edge, None)
    with pytest.raises(UcpError) as caught:
        await receive_order_webhook(edge.connector.profiles, MERCHANT, url=URL, headers=headers, body=BODY)
    assert caught.value.code is ErrorCode.SIGNATURE_MISSING
    assert caught.value.detail == {"reason": "absent"} and caught.value.content == "the webhook is not signed"
    assert edge.merchant.profile_hits == 0


async def test_the_webhook_timestamp_is_required_and_carried_to_the_session(edge: EdgeSetup) -> None:
    """ORD-25 (an older snapshot never replaces a newer one; equal logs are ordered by Webhook-Timestamp): a
    2026-04-08 webhook without Webhook-Timestamp is refused, and the accepted one carries its timestamp."""
    stamp = int(time.time()) - 5
    signed = [(name, str(stamp) if name == "Webhook-Timestamp" else value) for name, value in _webhook(edge, None)]
    signed.extend(sign_request(method="POST", url=URL, headers=signed, body=BODY, key=edge.merchant.signer).items())
    received = await receive_order_webhook(edge.connector.profiles, MERCHANT, url=URL, headers=signed, body=BODY)
    assert received.timestamp == stamp
    without = [(name, value) for name, value in _webhook(edge, None) if name != "Webhook-Timestamp"]
    without.extend(sign_request(method="POST", url=URL, headers=without, body=BODY, key=edge.merchant.signer).items())
    with pytest.raises(UcpError) as caught:
        await receive_order_webhook(edge.connector.profiles, MERCHANT, url=URL, headers=without, body=BODY)
    assert caught.value.code is ErrorCode.VALIDATION_FAILED and caught.value.detail == {"reason": "missing"}
