"""Merchant side and SSRF: where a merchant profile may send the connector's signed, buyer-carrying calls.

Issue 12.5 (on main since the releases work; these keep it fixed): a REST
endpoint on another origin, an inward address (loopback, link-local cloud
metadata, RFC 1918, ULA, IPv4-mapped, special-use), a name resolving inward —
all ``403 profile_not_trusted`` before any request leaves (merchants/targets.py;
overview.md "Profile Requirements: Fetching" 7). The end-to-end refusals
(nothing received by an internal listener, another merchant's keys) are in
tests/merchants/releases/test_targets.py.
"""

from __future__ import annotations

import pytest

from contracts import UcpError
from core.settings import MerchantSettings
from merchants.targets import check_address, check_same_origin
from tests.security.catalogue import attack, control

control("merchant_ssrf")

SHOP = MerchantSettings(profile_url="https://shop.example/.well-known/ucp")


async def test_control_the_profiles_own_origin_on_a_public_address_is_allowed() -> None:
    check_same_origin("https://shop.example/ucp/v1", SHOP, what="REST endpoint")
    await check_address("https://93.184.216.34/ucp", SHOP, what="REST endpoint")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        attack("merchant_ssrf", "endpoint_other_host", "profile_not_trusted", "https://internal.example/ucp"),
        attack("merchant_ssrf", "endpoint_other_port", "profile_not_trusted", "https://shop.example:8443/ucp"),
        attack("merchant_ssrf", "endpoint_other_scheme", "profile_not_trusted", "http://shop.example/ucp"),
        attack("merchant_ssrf", "endpoint_subdomain", "profile_not_trusted", "https://evil.shop.example/ucp"),
        attack(
            "merchant_ssrf", "endpoint_userinfo_trick", "profile_not_trusted", "https://shop.example@evil.example/u"
        ),
    ],
)
def test_an_endpoint_off_the_profiles_origin_is_refused(url: str, code: str) -> None:
    with pytest.raises(UcpError) as caught:
        check_same_origin(url, SHOP, what="REST endpoint")
    assert caught.value.code.value == code and caught.value.detail["reason"] == "foreign_origin"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        attack("merchant_ssrf", "loopback_v4", "profile_not_trusted", "https://127.0.0.1/ucp"),
        attack("merchant_ssrf", "loopback_v6", "profile_not_trusted", "https://[::1]/ucp"),
        attack("merchant_ssrf", "cloud_metadata", "profile_not_trusted", "https://169.254.169.254/latest/meta-data"),
        attack("merchant_ssrf", "rfc1918", "profile_not_trusted", "https://10.0.0.7/ucp"),
        attack("merchant_ssrf", "rfc1918_192", "profile_not_trusted", "https://192.168.1.10/ucp"),
        attack("merchant_ssrf", "ula_v6", "profile_not_trusted", "https://[fd00::1]/ucp"),
        attack("merchant_ssrf", "v4_mapped_private", "profile_not_trusted", "https://[::ffff:192.168.1.1]/ucp"),
        attack("merchant_ssrf", "unspecified", "profile_not_trusted", "https://0.0.0.0/ucp"),
        attack("merchant_ssrf", "name_resolving_to_loopback", "profile_not_trusted", "https://localhost:9/ucp"),
    ],
)
async def test_an_inward_target_is_refused(url: str, code: str) -> None:
    with pytest.raises(UcpError) as caught:
        await check_address(url, SHOP, what="REST endpoint")
    assert caught.value.code.value == code
