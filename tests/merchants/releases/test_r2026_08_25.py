"""The UCP 2026-08-25 adapter against the 2026-08-25 spec snapshot: its examples and its schemas (issue 15).

What the adapter reads must be valid canonical (2026-04-08) UCP; what it
writes must be valid 2026-08-25 (``ucp_request`` resolved per operation).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contracts import ErrorCode, KeyStore, SigningKey, UcpError
from contracts.ucp import RestOperation
from merchants.platform_profile import platform_profile
from merchants.releases import adapter_for
from tests import release_specs, spec_schemas

RELEASE = "2026-08-25"
ADAPTER = adapter_for(RELEASE)
pytestmark = [release_specs.requires_release_spec(RELEASE), spec_schemas.requires_spec]
OKP_KEY = {"kid": "okp", "kty": "OKP", "crv": "Ed25519", "x": "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}


def _business_profile() -> dict[str, Any]:
    [business] = [
        doc
        for doc in release_specs.json_examples(RELEASE, "overview/index.md")
        if isinstance(doc, dict)
        and "keys" in doc
        and doc["ucp"].get("capabilities", {}).get("dev.ucp.common.identity_linking")
        and doc["ucp"]["services"]["dev.ucp.shopping"][0].get("endpoint", "").startswith("https://business")
    ]
    return business


def _checkouts() -> list[dict[str, Any]]:
    return [
        doc
        for doc in release_specs.json_examples(RELEASE, "shopping/checkout/rest.md")
        if isinstance(doc, dict) and "ucp" in doc and ("id" in doc or doc["ucp"].get("status") == "error")
    ]


def _requests(operation: str) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": release_specs.SCHEMAS + "shopping/checkout.json"},
            {"$ref": release_specs.SCHEMAS + "shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout"},
            {"$ref": release_specs.SCHEMAS + "shopping/discount.json#/$defs/dev.ucp.shopping.checkout"},
        ]
    }


def test_keys_come_from_keys_and_unusable_ones_are_skipped_not_fatal() -> None:
    """overview "Profile Structure": keys[] is the canonical field; signatures.md: the key vocabulary is open."""
    business = _business_profile()
    ec = SigningKey.generate("business_2025").public_jwk.to_dict()
    rsa = {"kid": "rsa", "kty": "RSA", "n": "AQAB", "e": "AQAB"}
    profile = ADAPTER.parse_profile(
        {**business, "keys": [OKP_KEY, ec, rsa, {"kid": "odd", "kty": "EC", "crv": "P-999"}]}
    )
    assert [key.kid for key in profile.keys.keys] == ["okp", "business_2025"]
    assert profile.version == RELEASE and profile.profile.rest_endpoint() == "https://business.example.com/ucp/v1"
    assert "keys" not in profile.presented and profile.presented["ucp"]["version"] == "2026-04-08"
    spec_schemas.assert_valid(spec_schemas.business_profile_validator(), profile.presented)


def test_a_dev_ucp_entry_declared_at_another_release_is_not_activated() -> None:
    """overview "Component Versioning": a dev.ucp.* entry whose version differs from ucp.version is rejected."""
    business = copy.deepcopy(_business_profile())
    business["keys"] = [OKP_KEY]
    business["ucp"]["capabilities"]["dev.ucp.shopping.discount"][0]["version"] = "2026-04-08"
    profile = ADAPTER.parse_profile(business)
    assert "dev.ucp.shopping.discount" not in profile.profile.ucp.capabilities
    assert "dev.ucp.shopping.fulfillment" in profile.profile.ucp.capabilities


def test_the_connectors_profile_is_served_with_keys_at_2026_08_25() -> None:
    canonical = platform_profile("https://connector.example", KeyStore(SigningKey.generate()), "shop")
    document = ADAPTER.platform_profile(canonical)
    checker = release_specs.validator(RELEASE, "profile.json#/$defs/platform_schema")
    assert release_specs.errors(checker, document) == []
    assert "signing_keys" not in document and document["keys"]
    versions = {entry["version"] for entries in document["ucp"]["capabilities"].values() for entry in entries}
    assert versions == {RELEASE}


def test_every_checkout_response_of_the_spec_reads_into_a_valid_canonical_checkout() -> None:
    responses = _checkouts()
    assert len(responses) >= 6
    checker = spec_schemas.checkout_response_validator()
    for document in responses:
        canonical = ADAPTER.decode_response(RestOperation.GET, document)
        spec_schemas.assert_valid(checker, canonical)
        assert canonical["ucp"]["version"] == "2026-04-08"


@pytest.mark.parametrize("operation", ["create", "update", "complete"])
def test_the_specs_requests_pass_through_as_valid_2026_08_25_requests(operation: str) -> None:
    """Canonical requests (the 2026-04-08 examples) reach a 2026-08-25 merchant as valid requests."""
    pages = {"create": 0, "update": 1, "complete": 2}
    canonical_examples = [
        doc
        for doc in spec_schemas.json_examples("checkout-rest.md")
        if isinstance(doc, dict) and "ucp" not in doc and doc and ("payment" in doc) == (operation == "complete")
    ]
    body = canonical_examples[0 if operation != "update" else 1]
    rest = {"create": RestOperation.CREATE, "update": RestOperation.UPDATE, "complete": RestOperation.COMPLETE}
    wire = ADAPTER.encode_request(rest[operation], body, merchant_checkout_id="chk_1")
    checker = release_specs.validator(RELEASE, _requests(operation), operation=operation)
    assert release_specs.errors(checker, wire) == [], (pages, body)


@pytest.mark.parametrize(
    ("operation", "method", "pointer"),
    [
        (
            RestOperation.UPDATE,
            {"type": "pickup", "destinations": [{"name": "Uptown"}]},
            "/fulfillment/methods/0/destinations",
        ),
        (RestOperation.CREATE, {"type": "shipping", "line_item_ids": ["li_1"]}, "/fulfillment/methods/0/line_item_ids"),
    ],
)
def test_what_2026_08_25_no_longer_accepts_is_refused_with_its_pointer(
    operation: RestOperation, method: dict[str, Any], pointer: str
) -> None:
    body = {"line_items": [{"item": {"id": "item_1"}, "quantity": 1}], "fulfillment": {"methods": [method]}}
    with pytest.raises(UcpError) as caught:
        ADAPTER.encode_request(operation, body, merchant_checkout_id="chk_1")
    assert (caught.value.code, caught.value.pointer) == (ErrorCode.REQUEST_UNTRANSLATABLE, pointer)
    assert caught.value.detail["release"] == RELEASE


def test_an_update_reaches_the_merchant_with_the_merchants_own_id() -> None:
    """Issue 12 item 9: the platform's PUT names the connector's cs_ id; the merchant knows only its own."""
    body = {"id": "cs_abc", "line_items": [{"id": "li_1", "item": {"id": "item_1"}, "quantity": 1}]}
    wire = ADAPTER.encode_request(RestOperation.UPDATE, body, merchant_checkout_id="chk_merchant")
    assert wire is not None and wire["id"] == "chk_merchant"


def test_idempotency_is_matched_on_the_raw_body_bytes() -> None:
    """signatures.md "Payload Matching": SHA-256 of the raw bytes, so a retry must be byte-identical."""
    assert not ADAPTER.idempotency.same_payload(b'{"a":1,"b":2}', b'{"b":2,"a":1}')
    assert ADAPTER.idempotency.same_payload(b'{"a":1}', b'{"a":1}')
    assert ADAPTER.idempotency.key_format == "opaque"
