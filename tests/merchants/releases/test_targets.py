"""Where a merchant profile may send the connector (issue 12 item 5, SSRF): these fail on the code before it.

Before issue 15 the REST endpoint was not tied to the profile's origin, private
and link-local addresses were not filtered, and a profile could reuse another
merchant's keys; the connector sent a signed POST with the buyer's e-mail to an
internal listener. Each test below sets up exactly that and expects the
frozen refusal ``403 profile_not_trusted`` with its reason -- before any
request leaves the connector.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts import ErrorCode, KeyStore, SigningKey, UcpError
from contracts.ucp import RestOperation
from core.settings import MerchantSettings
from merchants.targets import check_address
from tests.fixtures.connector_stack import MERCHANT
from tests.fixtures.http import free_port
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import connector_for, edge_merchant


async def _refusal(edge: EdgeSetup) -> UcpError:
    with pytest.raises(UcpError) as caught:
        await edge.connector.client.call(
            MERCHANT,
            RestOperation.CREATE,
            body={"buyer": {"email": "jane@example.com"}},
            idempotency_key=str(uuid.uuid4()),
        )
    return caught.value


async def test_a_rest_endpoint_on_another_origin_is_refused(edge: EdgeSetup) -> None:
    """Issue 12 item 5: the endpoint must be same-origin with the registered profile."""
    edge.merchant.endpoint = f"http://127.0.0.1:{free_port()}/internal"
    error = await _refusal(edge)
    assert (error.code, error.detail["reason"]) == (ErrorCode.PROFILE_NOT_TRUSTED, "foreign_origin")
    assert edge.merchant.received == []


async def test_an_origin_the_configuration_allows_explicitly_is_used(connector_keys: KeyStore) -> None:
    async with edge_merchant(connector_keys) as merchant:
        merchant.endpoint = merchant.url.replace("127.0.0.1", "localhost") + "/ucp/v1"
        allowed = merchant.url.replace("127.0.0.1", "localhost")
        async with connector_for(merchant.url, connector_keys, allowed_origins=[allowed]) as connector:
            profile = await connector.profiles.get(MERCHANT)
    assert profile.endpoint == f"{allowed}/ucp/v1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/ucp", "loopback_address"),
        ("https://169.254.169.254/latest/meta-data", "link_local_address"),
        ("https://10.0.0.7/ucp", "private_address"),
        ("https://[fd00::1]/ucp", "private_address"),
        ("https://[::ffff:192.168.1.1]/ucp", "private_address"),
        ("https://0.0.0.0/ucp", "special_use_address"),
    ],
)
async def test_inward_addresses_are_refused_without_allow_insecure_loopback(url: str, reason: str) -> None:
    """Overview "Fetching" 7: loopback, link-local (cloud metadata), private and special-use targets are refused."""
    settings = MerchantSettings(profile_url="https://shop.example/.well-known/ucp")
    with pytest.raises(UcpError) as caught:
        await check_address(url, settings, what="REST endpoint")
    assert (caught.value.code, caught.value.detail["reason"]) == (ErrorCode.PROFILE_NOT_TRUSTED, reason)


async def test_a_name_that_resolves_inward_is_refused_too() -> None:
    """The resolved address is checked, not the name (DNS names that point at loopback)."""
    settings = MerchantSettings(profile_url="https://shop.example/.well-known/ucp")
    with pytest.raises(UcpError) as caught:
        await check_address("https://localhost:9/x", settings, what="REST endpoint")
    assert caught.value.detail["reason"] == "loopback_address"


async def test_private_addresses_are_allowed_only_when_configured() -> None:
    """A compose/VPC network: allow_private_addresses opens private ranges, never link-local or loopback."""
    settings = MerchantSettings(profile_url="https://merchant:8181/.well-known/ucp", allow_private_addresses=True)
    await check_address("https://10.0.0.7/ucp", settings, what="REST endpoint")
    for inward in ("https://169.254.169.254/x", "https://127.0.0.1/x"):
        with pytest.raises(UcpError):
            await check_address(inward, settings, what="REST endpoint")
    public = MerchantSettings(profile_url="https://shop.example/.well-known/ucp")
    await check_address("https://93.184.216.34/ucp", public, what="REST endpoint")


def _shared_keys(owner: SigningKey) -> Any:
    def edit(document: dict[str, Any]) -> None:
        document["signing_keys"] = [owner.public_jwk.to_dict()]

    return edit


async def test_one_merchants_keys_are_not_accepted_for_another(connector_keys: KeyStore) -> None:
    """Issue 12 item 5: a profile that publishes a key another registered merchant publishes is refused."""
    async with edge_merchant(connector_keys) as first, edge_merchant(connector_keys) as second:
        second.edit_profile = _shared_keys(first.signer)
        settings = {
            "first": MerchantSettings(profile_url=f"{first.url}/.well-known/ucp", allow_insecure_loopback=True),
            "second": MerchantSettings(profile_url=f"{second.url}/.well-known/ucp", allow_insecure_loopback=True),
        }
        async with connector_for(first.url, connector_keys) as connector:
            profiles = type(connector.profiles)(connector.http, settings, clock=connector.clock)
            await profiles.get("first")
            with pytest.raises(UcpError) as caught:
                await profiles.get("second")
    assert (caught.value.code, caught.value.detail["reason"]) == (ErrorCode.PROFILE_NOT_TRUSTED, "keys_shared")


async def test_the_same_merchant_registered_twice_shares_its_own_keys(connector_keys: KeyStore) -> None:
    """Two registry entries naming one profile URL are one identity: no refusal."""
    async with edge_merchant(connector_keys) as merchant, connector_for(merchant.url, connector_keys) as connector:
        url = f"{merchant.url}/.well-known/ucp"
        settings = {name: MerchantSettings(profile_url=url, allow_insecure_loopback=True) for name in ("a", "b")}
        profiles = type(connector.profiles)(connector.http, settings, clock=connector.clock)
        assert (await profiles.get("a")).keys == (await profiles.get("b")).keys
