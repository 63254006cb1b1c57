"""Request authentication and response signing, as a real merchant does it (DESIGN.md invariant 1).

Covers SIG-08, SIG-09, SIG-16..25, SIG-32, SIG-33, OVR-22, OVR-28, OVR-35, OVR-37, OVR-38, OVR-42,
OVR-45, OVR-46, IDM-01, and the platform allow-list (no arbitrary profile fetch).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

from contracts import JwkSet, SignatureError, SigningKey, format_ucp_agent, sign_request, verify_response
from reference_merchant import TrustedPlatform
from tests.reference_merchant.conftest import PLATFORM, MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import Reply, bind_loopback, payment_body, platform_profile, ready_body, serve

BODY = json.dumps(ready_body()).encode()


async def _post(shop: MerchantUnderTest, headers: dict[str, str], body: bytes = BODY, path: str = "") -> Reply:
    url = f"{shop.config.endpoint}/checkout-sessions{path}"
    response = await shop.client.http.post(url, content=body, headers=headers)
    reply = Reply(response.status_code, response.headers, response.content)
    await shop.client.verify(reply)  # error answers are signed too
    return reply


def _signed(
    shop: MerchantUnderTest, *, url: str | None = None, body: bytes = BODY, key: SigningKey | None = None
) -> dict[str, str]:
    headers = {
        "UCP-Agent": format_ucp_agent(shop.client.profile_url),
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    target = url or f"{shop.config.endpoint}/checkout-sessions"
    headers.update(sign_request(method="POST", url=target, headers=headers, body=body, key=key or shop.client.key))
    return headers


async def test_a_signed_request_is_accepted_and_covers_what_ucp_requires(shop: MerchantUnderTest) -> None:
    """SIG-16..19, IDM-01: method, authority, path, ucp-agent, idempotency-key, digest and type are covered."""
    reply = await _post(shop, _signed(shop))
    assert reply.status == 201
    covered = _signed(shop)["Signature-Input"]
    for component in (
        "@method",
        "@authority",
        "@path",
        "ucp-agent",
        "idempotency-key",
        "content-digest",
        "content-type",
    ):
        assert f'"{component}"' in covered


@pytest.mark.parametrize("missing", ["Signature", "Signature-Input"])
async def test_unsigned_requests_are_401_signature_missing(shop: MerchantUnderTest, missing: str) -> None:
    """SIG-25, invariant 1: no signature, no entry — GET included."""
    headers = _signed(shop)
    del headers[missing]
    reply = await _post(shop, headers)
    assert reply.status == 401 and reply.code == "signature_missing"
    unsigned_get = await shop.client.send("GET", "/checkout-sessions/chk_x", sign=False)
    assert unsigned_get.status == 401 and unsigned_get.code == "signature_missing"


async def test_tampered_body_is_digest_mismatch(shop: MerchantUnderTest) -> None:
    """SIG-24, SIG-14: one changed byte of the body fails the digest before the signature."""
    headers = _signed(shop)
    reply = await _post(shop, headers, BODY.replace(b'"quantity": 2', b'"quantity": 9'))
    assert reply.status == 400 and reply.code == "digest_mismatch"


@pytest.mark.parametrize("tamper", ["path", "idempotency_key", "agent_profile", "signature_bytes"])
async def test_tampered_requests_are_401_signature_invalid(shop: MerchantUnderTest, tamper: str) -> None:
    """SIG-24: changing a covered component (path, key, UCP-Agent) or the signature itself fails verification."""
    headers = _signed(shop)
    path = ""
    if tamper == "path":
        path = "/chk_other/cancel"
    elif tamper == "idempotency_key":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    elif tamper == "agent_profile":
        headers["UCP-Agent"] = format_ucp_agent(shop.client.profile_url + "?x=1")
    else:
        label, value, _ = headers["Signature"].split(":")
        raw = bytearray(base64.b64decode(value))
        raw[5] ^= 0xFF
        headers["Signature"] = f"{label}:{base64.b64encode(bytes(raw)).decode()}:"
    reply = await _post(shop, headers, path=path)
    if tamper == "agent_profile":  # a profile URL the merchant does not know is refused before any fetch
        assert reply.status == 403 and reply.code == "profile_not_trusted"
    else:
        assert reply.status == 401 and reply.code == "signature_invalid"


async def test_a_signature_for_another_host_does_not_verify_here(shop: MerchantUnderTest) -> None:
    """SIG-16 (@authority): a request signed for merchant B and relayed to us is refused."""
    headers = _signed(shop, url="https://other-merchant.example/ucp/v1/checkout-sessions")
    reply = await _post(shop, headers)
    assert reply.status == 401 and reply.code == "signature_invalid"


async def test_der_encoded_signatures_are_refused(shop: MerchantUnderTest) -> None:
    """SIG-20: ECDSA signatures must be raw r||s (64 bytes), not DER."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    headers = _signed(shop)
    der = shop.client.key.private_key.sign(b"anything", ec.ECDSA(hashes.SHA256()))
    headers["Signature"] = f"sig1=:{base64.b64encode(der).decode()}:"
    reply = await _post(shop, headers)
    assert reply.status == 401 and reply.code == "signature_invalid"


async def test_unknown_kid_is_key_not_found(shop: MerchantUnderTest) -> None:
    """SIG-08: a key the platform never published."""
    reply = await _post(shop, _signed(shop, key=SigningKey.generate()))
    assert reply.status == 401 and reply.code == "key_not_found"


async def _platform_publishes_a_new_key(shop: MerchantUnderTest) -> tuple[SigningKey, int]:
    """After one request cached the profile, the platform publishes a new key; returns it and the fetch count."""
    assert (await shop.client.create(ready_body())).status == 201
    fetches = shop.site.profile_fetches.get(PLATFORM, 0)
    new_key = SigningKey.generate()
    shop.site.profiles[PLATFORM] = platform_profile(shop.site.webhook_url(PLATFORM), new_key)
    return new_key, fetches


async def test_platform_key_rotation_is_picked_up_with_one_refetch(shop: MerchantUnderTest) -> None:
    """SIG-09, SIG-10, OVR-40: a new kid triggers one profile re-fetch, at most once per 60 s."""
    site = shop.site
    new_key, fetches = await _platform_publishes_a_new_key(shop)
    refused = await _post(shop, _signed(shop, key=new_key))
    assert refused.code == "key_not_found"  # cached copy is younger than 60 s: no re-fetch yet
    assert site.profile_fetches[PLATFORM] == fetches
    shop.clock.advance(seconds=61)
    accepted = await _post(shop, _signed(shop, key=new_key))
    assert accepted.status == 201
    assert site.profile_fetches[PLATFORM] == fetches + 1
    old_key_now = await _post(shop, _signed(shop))
    assert old_key_now.code == "key_not_found"  # the old key left the profile: it no longer verifies (SIG-12)


async def test_requests_racing_on_a_new_kid_share_one_refetch(shop: MerchantUnderTest) -> None:
    """SIG-09: several requests with the same new kid at once still re-fetch the profile only once."""
    site = shop.site
    new_key, fetches = await _platform_publishes_a_new_key(shop)
    shop.clock.advance(seconds=61)
    site.profile_delay_seconds = 0.3
    replies = await asyncio.gather(*(_post(shop, _signed(shop, key=new_key)) for _ in range(4)))
    assert [reply.status for reply in replies] == [201] * 4
    assert site.profile_fetches[PLATFORM] == fetches + 1


@pytest.mark.parametrize(
    ("agent", "code"),
    [
        (None, "invalid_profile_url"),
        ("profile=https://platform.example/p", "invalid_profile_url"),  # a token, not a quoted string
        ('profile="ftp://platform.example/p"', "invalid_profile_url"),
        ('profile="https://unknown-platform.example/.well-known/ucp"', "profile_not_trusted"),
    ],
)
async def test_ucp_agent_rules(shop: MerchantUnderTest, agent: str | None, code: str) -> None:
    """SIG-23, OVR-37, SIG-33, OVR-35: UCP-Agent must be a quoted https profile of a trusted platform."""
    headers: dict[str, str] = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if agent is not None:
        headers["UCP-Agent"] = agent
    url = f"{shop.config.endpoint}/checkout-sessions"
    headers.update(sign_request(method="POST", url=url, headers=headers, body=BODY, key=shop.client.key))
    reply = await _post(shop, headers)
    assert reply.code == code
    assert reply.status == {"invalid_profile_url": 400, "profile_not_trusted": 403}[code]


async def test_untrusted_platforms_are_never_fetched(shop: MerchantUnderTest) -> None:
    """No SSRF: a profile URL outside the allow-list causes no outbound request at all."""
    site = shop.site
    site.profiles["stranger"] = platform_profile(None, shop.client.key)
    headers = {"UCP-Agent": format_ucp_agent(site.profile_url("stranger")), "Content-Type": "application/json"}
    headers["Idempotency-Key"] = str(uuid.uuid4())
    url = f"{shop.config.endpoint}/checkout-sessions"
    headers.update(sign_request(method="POST", url=url, headers=headers, body=BODY, key=shop.client.key))
    reply = await _post(shop, headers)
    assert reply.status == 403 and reply.code == "profile_not_trusted"
    assert site.profile_fetches.get("stranger", 0) == 0
    assert shop.merchant.platforms.fetch_count == 0


@pytest.mark.parametrize(
    ("profile", "status", "code"),
    [
        (None, 424, "profile_unreachable"),
        ({"ucp": {"version": "2026-04-08"}}, 422, "profile_malformed"),
    ],
)
async def test_profile_failures_have_the_spec_codes(
    start_merchant: StartMerchant, profile: dict[str, Any] | None, status: int, code: str
) -> None:
    """OVR-42, OVR-28: unreachable -> 424, invalid -> 422; nothing is created."""
    shop = await start_merchant()
    if profile is None:
        shop.site.profiles.pop(PLATFORM)
    else:
        shop.site.profiles[PLATFORM] = profile
    reply = await shop.client.create(ready_body())
    assert reply.status == status and reply.code == code


async def test_profile_redirects_are_not_followed(start_merchant: StartMerchant, platform_site: Any) -> None:
    """OVR-38: a profile URL that answers 3xx is profile_unreachable, even if the target is a valid profile."""

    async def redirect(request: Any) -> RedirectResponse:
        return RedirectResponse(platform_site.profile_url(PLATFORM), status_code=307)

    async with serve(Starlette(routes=[Route("/profile", redirect)]), bind_loopback()) as url:
        moved = f"{url}/profile"
        shop = await start_merchant(platforms=[TrustedPlatform(profile_url=moved)], profile_url=moved)
        reply = await shop.client.create(ready_body())
    assert reply.status == 424 and reply.code == "profile_unreachable"
    assert reply.json["detail"] == {"reason": "redirect"}


async def test_version_mismatch_is_422_and_creates_nothing(shop: MerchantUnderTest, platform_key: SigningKey) -> None:
    """OVR-45: the platform's protocol version must be ours; no resource is created."""
    shop.site.profiles[PLATFORM] = platform_profile(None, platform_key, version="2026-01-11")
    reply = await shop.client.create(ready_body())
    assert reply.status == 422 and reply.code == "version_unsupported"
    assert reply.json["continue_url"] == shop.config.base_url
    assert await shop.merchant.count_orders() == 0


async def test_no_common_checkout_capability_is_capabilities_incompatible(
    shop: MerchantUnderTest, platform_key: SigningKey
) -> None:
    """OVR-46, OVR-28: HTTP 200 with ucp.status error and the capabilities_incompatible message."""
    profile = platform_profile(None, platform_key)
    profile["ucp"]["capabilities"]["dev.ucp.shopping.checkout"][0]["version"] = "2025-01-01"
    shop.site.profiles[PLATFORM] = profile
    reply = await shop.client.create(ready_body())
    assert reply.status == 200 and reply.json["ucp"]["status"] == "error"
    assert reply.code == "capabilities_incompatible"


async def test_negotiation_shapes_the_response(shop: MerchantUnderTest, platform_key: SigningKey) -> None:
    """OVR-23, OVR-24, OVR-27: without fulfillment on the platform side, the extension is not active; physical
    goods then need the merchant's site (requires_escalation), and the response lists only active capabilities."""
    profile = platform_profile(shop.site.webhook_url(PLATFORM), platform_key)
    del profile["ucp"]["capabilities"]["dev.ucp.shopping.fulfillment"]
    shop.site.profiles[PLATFORM] = profile
    body = ready_body()
    del body["fulfillment"]
    reply = await shop.client.create(body)
    assert set(reply.json["ucp"]["capabilities"]) == {"dev.ucp.shopping.checkout", "dev.ucp.shopping.discount"}
    assert "fulfillment" not in reply.json
    assert reply.json["status"] == "requires_escalation"
    refused = await shop.client.create(ready_body())
    assert refused.status == 400 and refused.json["pointer"] == "/fulfillment"


async def test_inline_jwks_platform_needs_no_profile_fetch(
    start_merchant: StartMerchant, platform_key: SigningKey
) -> None:
    """A configured platform may carry its keys inline: nothing is fetched, the signature still must verify."""
    key = SigningKey.generate()
    url = "https://inline-platform.example/.well-known/ucp"
    shop = await start_merchant(
        platforms=[TrustedPlatform(profile_url=url, jwks=JwkSet((key.public_jwk,)).to_dict())],
        key=key,
        profile_url=url,
    )
    created = await shop.client.create(ready_body())
    assert created.status == 201
    done = await shop.client.complete(created.json["id"], payment_body())
    assert done.json["status"] == "completed"
    assert shop.merchant.platforms.fetch_count == 0
    impostor = await _post(shop, _signed(shop, key=platform_key))
    assert impostor.code == "key_not_found"


@pytest.mark.parametrize(("value", "code"), [(None, "idempotency_key_missing"), ("short", "idempotency_key_invalid")])
async def test_mutations_need_a_good_idempotency_key(shop: MerchantUnderTest, value: str | None, code: str) -> None:
    """IDM-01, IDM-11: every POST/PUT carries an Idempotency-Key with >= 128 bits."""
    headers = {"UCP-Agent": format_ucp_agent(shop.client.profile_url), "Content-Type": "application/json"}
    if value is not None:
        headers["Idempotency-Key"] = value
    url = f"{shop.config.endpoint}/checkout-sessions"
    headers.update(sign_request(method="POST", url=url, headers=headers, body=BODY, key=shop.client.key))
    reply = await _post(shop, headers)
    assert reply.status == 400 and reply.code == code


async def test_every_response_is_signed_by_a_published_key(shop: MerchantUnderTest) -> None:
    """SIG-21, SIG-29, SIG-07: @status + content-digest + content-type, verifiable with /.well-known/ucp keys."""
    created = await shop.client.create(ready_body())
    signed = created.headers["signature-input"]
    assert signed.startswith('sig1=("@status" "content-digest" "content-type")')
    keys = await shop.client.merchant_keys()
    tampered = created.body.replace(b"ready_for_complete", b"completed_xxxxxxxx")
    with pytest.raises(SignatureError):
        verify_response(status=201, headers=list(created.headers.multi_items()), body=tampered, keys=keys)
    with pytest.raises(SignatureError):
        verify_response(status=200, headers=list(created.headers.multi_items()), body=created.body, keys=keys)
