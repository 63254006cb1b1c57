"""The business profile at /.well-known/ucp (overview.md "Business Profile", "Profile Requirements").

Covers OVR-02..04, OVR-09, OVR-10, OVR-26, OVR-31..33, OVR-48, SIG-03, SIG-06, SIG-07.
"""

from __future__ import annotations

import re

from contracts import JwkSet
from contracts.ucp import binding_problems, parse_business_profile
from tests import spec_schemas
from tests.reference_merchant.conftest import MerchantUnderTest
from tests.reference_merchant.harness import ready_body


async def test_profile_is_public_cacheable_signed_and_valid(shop: MerchantUnderTest) -> None:
    """OVR-33: Cache-Control public, max-age >= 60, no private/no-store/no-cache; schema-valid business profile."""
    response = await shop.client.http.get(f"{shop.url}/.well-known/ucp", follow_redirects=False)
    assert response.status_code == 200
    cache_control = response.headers["cache-control"]
    assert "public" in cache_control and not re.search(r"private|no-store|no-cache", cache_control)
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= 60  # type: ignore[union-attr]
    document = response.json()
    if spec_schemas.SPEC_DIR is not None:
        spec_schemas.assert_valid(spec_schemas.business_profile_validator(), document)
    profile = parse_business_profile(document)
    assert profile.ucp.version == "2026-04-08"
    assert profile.rest_endpoint() == shop.config.endpoint and not shop.config.endpoint.endswith("/")
    assert set(profile.ucp.capabilities) == {
        "dev.ucp.shopping.checkout",
        "dev.ucp.shopping.order",
        "dev.ucp.shopping.fulfillment",
        "dev.ucp.shopping.discount",
    }
    for name, entries in profile.ucp.capabilities.items():
        assert all(binding_problems(name, entry) == [] for entry in entries)
    assert profile.ucp.payment_handlers["com.example.tokenizer"][0].id == "ref_tokenizer"


async def test_signing_keys_are_es256_and_sign_the_responses(shop: MerchantUnderTest) -> None:
    """SIG-03, SIG-06, SIG-07: P-256 JWKs without private material; the kid in responses is published."""
    document = (await shop.client.http.get(f"{shop.url}/.well-known/ucp")).json()
    keys = JwkSet.from_list(document["signing_keys"])
    assert [(key.kty, key.crv, key.alg) for key in keys.keys] == [("EC", "P-256", "ES256")]
    assert all("d" not in key for key in document["signing_keys"])
    created = await shop.client.create(ready_body())
    assert (await shop.client.verify(created)).key.kid == keys.keys[0].kid
    assert created.json["ucp"]["version"] == "2026-04-08"  # OVR-26
