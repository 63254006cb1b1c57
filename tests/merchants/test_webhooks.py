"""``receive_order_webhook``: a webhook is the named merchant's, signed with a key of its profile (SIG-23..25, SIG-31).

The merchant's profile is served by the edge merchant over loopback and read
by the real profile cache; webhooks are signed as the reference merchant signs
them (``contracts.sign_request`` over ``@method @authority @path ucp-agent
content-digest content-type``). The route around this is covered end to end in
tests/e2e/test_platform_api.py.
"""

from __future__ import annotations

import time

import pytest

from contracts import ErrorCode, SigningKey, UcpError, canonical_json, format_ucp_agent, sign_request
from contracts.ucp.order_snapshots import event_identity
from merchants.webhooks import receive_order_webhook
from tests.fixtures.bodies import order_document
from tests.fixtures.connector_stack import MERCHANT
from tests.merchants.conftest import EdgeSetup

URL = f"http://connector.example/webhooks/merchants/{MERCHANT}"
BODY = canonical_json(order_document())


def _webhook(edge: EdgeSetup, key: SigningKey | None, *, agent: str | None = None) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", "application/json"),
        ("UCP-Agent", agent or format_ucp_agent(f"{edge.merchant.url}/.well-known/ucp")),
        ("Webhook-Id", "wh-1"),
        ("Webhook-Timestamp", str(int(time.time()))),
    ]
    if key is not None:
        headers.extend(sign_request(method="POST", url=URL, headers=headers, body=BODY, key=key).items())
    return headers


async def _verify(edge: EdgeSetup, headers: list[tuple[str, str]], body: bytes = BODY, merchant: str = MERCHANT) -> str:
    received = await receive_order_webhook(edge.connector.profiles, merchant, url=URL, headers=headers, body=body)
    assert received.webhook_id == "wh-1" and received.order["id"] == "ord_1"
    assert received.event_key == event_identity(body)  # dedup on what the merchant signed, not on Webhook-Id
    return received.signed_by


async def _refused(edge: EdgeSetup, headers: list[tuple[str, str]], merchant: str = MERCHANT) -> UcpError:
    with pytest.raises(UcpError) as caught:
        await _verify(edge, headers, merchant=merchant)
    return caught.value


async def test_a_webhook_signed_by_the_merchant_verifies(edge: EdgeSetup) -> None:
    """SIG-23, SIG-28: signed with a key of the profile UCP-Agent names."""
    assert await _verify(edge, _webhook(edge, edge.merchant.signer)) == edge.merchant.signer.kid


async def test_an_unregistered_merchant_is_not_found_before_anything_is_fetched(edge: EdgeSetup) -> None:
    error = await _refused(edge, _webhook(edge, edge.merchant.signer), merchant="someone-else")
    assert error.code is ErrorCode.NOT_FOUND and error.content == "unknown merchant"
    assert edge.merchant.profile_hits == 0


async def test_a_ucp_agent_naming_another_profile_is_not_trusted(edge: EdgeSetup) -> None:
    """SIG-31: the signer's identity must be the registered merchant's profile URL, exactly."""
    headers = _webhook(edge, edge.merchant.signer, agent=format_ucp_agent("https://evil.example/.well-known/ucp"))
    error = await _refused(edge, headers)
    assert error.code is ErrorCode.PROFILE_NOT_TRUSTED and error.detail == {"reason": "identity_mismatch"}


@pytest.mark.parametrize(
    ("signed", "body", "code"),
    [(False, BODY, ErrorCode.SIGNATURE_MISSING), (True, BODY + b" ", ErrorCode.DIGEST_MISMATCH)],
)
async def test_unsigned_or_altered_webhooks_are_refused(
    edge: EdgeSetup, signed: bool, body: bytes, code: ErrorCode
) -> None:
    """ORD-20, SIG-24: no signature, or a body changed in transit."""
    headers = _webhook(edge, edge.merchant.signer if signed else None)
    with pytest.raises(UcpError) as caught:
        await _verify(edge, headers, body=body)
    assert caught.value.code is code


async def test_a_rotated_key_is_picked_up_with_one_refresh_within_the_budget(edge: EdgeSetup) -> None:
    """SIG-09, SIG-11: a new kid re-reads the profile once; a second unknown kid inside 60 s does not."""
    profiles, clock = edge.connector.profiles, edge.connector.clock
    await _verify(edge, _webhook(edge, edge.merchant.signer))
    rotated = SigningKey.generate()
    edge.merchant.published.append(rotated)
    assert await _verify(edge, _webhook(edge, rotated)) == rotated.kid
    assert profiles.fetches == 2

    stranger = SigningKey.generate()
    error = await _refused(edge, _webhook(edge, stranger))
    assert error.code is ErrorCode.KEY_NOT_FOUND and profiles.fetches == 2
    edge.merchant.published.append(stranger)
    clock.now += 61
    assert await _verify(edge, _webhook(edge, stranger)) == stranger.kid
    assert profiles.fetches == 3
