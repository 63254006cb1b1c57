"""The UCP 2026-01-11 adapter against the 2026-01-11 spec: its examples and its schemas (issue 15).

Every 2026-01-11 document the adapter reads comes from the release's own spec
pages; what it reads must be valid *canonical* (2026-04-08) UCP, checked with
the 2026-04-08 schemas; what it writes must be valid 2026-01-11, checked with
the 2026-01-11 schemas (``ucp_request`` resolved per operation).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contracts import ErrorCode, JwkSet, KeyStore, SigningKey, UcpError, canonical_json
from contracts.detached_jws import sign_detached
from contracts.ucp import RestOperation
from merchants.platform_profile import platform_profile
from merchants.releases import adapter_for
from tests import release_specs, spec_schemas

RELEASE = "2026-01-11"
ADAPTER = adapter_for(RELEASE)
pytestmark = [release_specs.requires_release_spec(RELEASE), spec_schemas.requires_spec]

CANONICAL_CREATE: dict[str, Any] = {
    "line_items": [{"item": {"id": "item_123"}, "quantity": 2}],
    "buyer": {"email": "jane@example.com", "first_name": "Jane"},
    "context": {"currency": "USD"},
    "fulfillment": {
        "methods": [
            {
                "type": "shipping",
                "destinations": [{"street_address": "123 Main St", "address_country": "US"}],
                "groups": [{"selected_option_id": "standard"}],
            }
        ]
    },
}
CARD = {
    "id": "pi_1",
    "handler_id": "gpay",
    "type": "card",
    "selected": True,
    "display": {"brand": "visa", "last_digits": "4242"},
    "credential": {"type": "PAYMENT_GATEWAY", "token": "tok_1"},
}


def _examples(page: str, *members: str) -> list[dict[str, Any]]:
    return [
        document
        for document in release_specs.json_examples(RELEASE, page)
        if isinstance(document, dict) and all(member in document for member in members)
    ]


def _wire_errors(document: Any, operation: str) -> list[str]:
    schema = {
        "allOf": [
            {"$ref": release_specs.SCHEMAS + "shopping/checkout.json"},
            {"$ref": release_specs.SCHEMAS + "shopping/fulfillment.json#/$defs/checkout"},
            {"$ref": release_specs.SCHEMAS + "shopping/discount.json#/$defs/checkout"},
        ]
    }
    return release_specs.errors(release_specs.validator(RELEASE, schema, operation=operation), document)


def test_the_specs_business_profile_reads_into_the_canonical_model() -> None:
    """Issue 15: services as one object per name, capabilities as a list, handlers beside ucp, undated spec URLs."""
    [business] = [doc for doc in _examples("overview.md", "ucp", "payment") if "services" in doc["ucp"]]
    key = SigningKey.generate("business_2025")  # the example's own coordinates are not a point on P-256
    profile = ADAPTER.parse_profile({**business, "signing_keys": [key.public_jwk.to_dict()]})
    assert profile.version == RELEASE
    assert profile.profile.rest_endpoint() == "https://business.example.com/ucp/v1"
    assert profile.profile.ucp.capabilities["dev.ucp.shopping.fulfillment"][0].extends == "dev.ucp.shopping.checkout"
    assert [handler.id for handler in profile.profile.ucp.payment_handlers["com.example.business_tokenizer"]] == [
        "business_tokenizer"
    ]
    assert [key.kid for key in profile.keys.keys] == ["business_2025"]
    spec_schemas.assert_valid(spec_schemas.business_profile_validator(), profile.presented)


def test_a_profile_without_signing_keys_or_handlers_is_read_as_the_official_samples_publish_it() -> None:
    """The samples merchant (ucp-sdk 0.1.0) publishes no signing_keys and handlers under payment."""
    [business] = [doc for doc in _examples("overview.md", "ucp", "payment") if "services" in doc["ucp"]]
    samples = copy.deepcopy(business)
    samples.pop("signing_keys")
    samples["ucp"]["services"]["dev.ucp.shopping"] = {
        "version": RELEASE,
        "spec": "https://ucp.dev/specification/reference",
        "rest": {"schema": "https://ucp.dev/services/shopping/rest.openapi.json", "endpoint": "http://127.0.0.1:8182/"},
    }
    profile = ADAPTER.parse_profile(samples)
    assert profile.keys.keys == () and profile.profile.rest_endpoint() == "http://127.0.0.1:8182/"


def test_the_connectors_profile_is_served_in_the_2026_01_11_shape() -> None:
    """A 2026-01-11 merchant must parse our platform profile to negotiate and to find the order webhook URL."""
    canonical = platform_profile("https://connector.example", KeyStore(SigningKey.generate()), "shop")
    document = ADAPTER.platform_profile(canonical)
    assert not release_specs.errors(release_specs.validator(RELEASE, "discovery/profile.json"), document)
    names = {entry["name"]: entry for entry in document["ucp"]["capabilities"]}
    assert names["dev.ucp.shopping.order"]["config"]["webhook_url"].endswith("/webhooks/merchants/shop")
    assert {entry["version"] for entry in names.values()} == {RELEASE}
    assert names["dev.ucp.shopping.checkout"]["spec"] == "https://ucp.dev/specification/checkout"


def test_a_canonical_create_becomes_a_valid_2026_01_11_create() -> None:
    """The create needs a currency (from context.currency) and a payment object in 2026-01-11."""
    wire = ADAPTER.encode_request(RestOperation.CREATE, CANONICAL_CREATE, merchant_checkout_id=None)
    assert wire is not None and wire["currency"] == "USD" and wire["payment"] == {} and "context" not in wire
    assert _wire_errors(wire, "create") == []


def test_the_merchants_default_currency_serves_a_create_that_names_none() -> None:
    body = {key: value for key, value in CANONICAL_CREATE.items() if key != "context"}
    wire = ADAPTER.encode_request(RestOperation.CREATE, body, merchant_checkout_id=None, default_currency="EUR")
    assert wire is not None and wire["currency"] == "EUR"
    with pytest.raises(UcpError) as caught:
        ADAPTER.encode_request(RestOperation.CREATE, body, merchant_checkout_id=None)
    assert caught.value.code is ErrorCode.REQUEST_UNTRANSLATABLE and caught.value.pointer == "/context/currency"


def test_an_update_names_the_merchants_ids_filled_from_its_current_checkout() -> None:
    """2026-01-11 updates require the checkout id and each method's id and line_item_ids, each group's id."""
    current_wire = next(
        doc for doc in _examples("checkout-rest.md", "ucp", "fulfillment") if doc["status"] == "completed"
    )
    current = ADAPTER.decode_response(RestOperation.GET, current_wire)
    update = {
        "id": "cs_the_connectors_own_id",
        "line_items": [{"id": "li_1", "item": {"id": "item_123"}, "quantity": 1}],
        "fulfillment": {"methods": [{"type": "shipping", "groups": [{"selected_option_id": "standard"}]}]},
    }
    wire = ADAPTER.encode_request(RestOperation.UPDATE, update, merchant_checkout_id="chk_123456789", current=current)
    assert wire is not None and wire["id"] == "chk_123456789"
    method = wire["fulfillment"]["methods"][0]
    assert (method["id"], method["line_item_ids"], method["groups"][0]["id"]) == (
        "shipping_1",
        ["item_123"],
        "package_1",
    )
    assert method["type"] == "shipping"  # update: omit, yet allowed; the official samples require it
    assert _wire_errors(wire, "update") == []


def test_complete_without_signals_still_sends_risk_signals() -> None:
    """The official samples merchant answers 422 "risk_signals: Field required" without it (OpenAPI: optional)."""
    wire = ADAPTER.encode_request(
        RestOperation.COMPLETE, {"payment": {"instruments": [CARD]}}, merchant_checkout_id="c"
    )
    assert wire is not None and wire["risk_signals"] == {}


def test_complete_sends_the_selected_instrument_as_payment_data_and_signals_as_risk_signals() -> None:
    body = {"payment": {"instruments": [CARD]}, "signals": {"dev.ucp.buyer_ip": "203.0.113.7"}}
    wire = ADAPTER.encode_request(RestOperation.COMPLETE, body, merchant_checkout_id="chk_1")
    assert wire == {
        "payment_data": {
            "id": "pi_1",
            "handler_id": "gpay",
            "type": "card",
            "brand": "visa",
            "last_digits": "4242",
            "credential": {"type": "PAYMENT_GATEWAY", "token": "tok_1"},
        },
        "risk_signals": {"dev.ucp.buyer_ip": "203.0.113.7"},
    }
    schema = release_specs.validator(RELEASE, "shopping/payment_data.json")
    assert release_specs.errors(schema, wire) == []


@pytest.mark.parametrize(
    ("operation", "body", "pointer"),
    [
        (
            RestOperation.CREATE,
            {**CANONICAL_CREATE, "context": {"currency": "USD", "language": "fr"}},
            "/context/language",
        ),
        (RestOperation.CREATE, {**CANONICAL_CREATE, "attribution": {"utm_source": "x"}}, "/attribution"),
        (RestOperation.CREATE, {**CANONICAL_CREATE, "signals": {"dev.ucp.buyer_ip": "1.2.3.4"}}, "/signals"),
        (
            RestOperation.COMPLETE,
            {"payment": {"instruments": [{**CARD, "selected": False}] * 2}},
            "/payment/instruments",
        ),
    ],
)
def test_what_2026_01_11_cannot_carry_is_refused_with_its_pointer_never_dropped(
    operation: RestOperation, body: dict[str, Any], pointer: str
) -> None:
    """Issue 15 "Bad input": never a silently dropped field the platform sent."""
    with pytest.raises(UcpError) as caught:
        ADAPTER.encode_request(operation, body, merchant_checkout_id="chk_1")
    error = caught.value
    assert (error.code, error.http_status, error.pointer) == (ErrorCode.REQUEST_UNTRANSLATABLE, 400, pointer)
    assert error.detail["release"] == RELEASE


def test_every_checkout_response_of_the_spec_reads_into_a_valid_canonical_checkout() -> None:
    """Capabilities list -> registry, handlers -> ucp.payment_handlers, selected instrument, signed discounts."""
    responses = _examples("checkout-rest.md", "ucp", "id", "status")
    assert len(responses) >= 6
    checker = spec_schemas.checkout_response_validator()
    for document in responses:
        canonical = ADAPTER.decode_response(RestOperation.GET, document)
        spec_schemas.assert_valid(checker, canonical)
        assert canonical["ucp"]["version"] == "2026-04-08" and canonical["id"] == document["id"]


def test_a_discount_is_positive_in_2026_01_11_and_negative_in_the_canonical_model() -> None:
    document = copy.deepcopy(
        next(doc for doc in _examples("checkout-rest.md", "ucp", "id") if doc["status"] == "completed")
    )
    document["totals"] = [
        {"type": "subtotal", "amount": 5000},
        {"type": "discount", "amount": 500},
        {"type": "total", "amount": 4500},
    ]
    canonical = ADAPTER.decode_response(RestOperation.GET, document)
    assert [entry["amount"] for entry in canonical["totals"]] == [5000, -500, 4500]
    document["totals"][1]["amount"] = -500  # 2026-01-11 amounts are never negative
    with pytest.raises(UcpError) as caught:
        ADAPTER.decode_response(RestOperation.GET, document)
    assert (caught.value.code, caught.value.pointer) == (ErrorCode.MERCHANT_RESPONSE_INVALID, "/totals/1/amount")


def test_an_untranslatable_checkout_names_its_pointer_and_the_release() -> None:
    """Issue 15: 502 merchant_response_invalid with the JSON pointer and the release in detail."""
    broken = copy.deepcopy(
        next(doc for doc in _examples("checkout-rest.md", "ucp", "id") if doc["status"] == "completed")
    )
    broken["line_items"][0]["quantity"] = "two"
    with pytest.raises(UcpError) as caught:
        ADAPTER.decode_response(RestOperation.GET, broken)
    error = caught.value
    assert (error.code, error.http_status) == (ErrorCode.MERCHANT_RESPONSE_INVALID, 502)
    assert error.pointer == "/line_items/0/quantity" and error.detail["release"] == RELEASE


def test_the_specs_order_reads_into_a_canonical_order_but_its_currency() -> None:
    [order] = _examples("order.md", "ucp", "checkout_id")
    canonical = ADAPTER.decode_response(RestOperation.GET_ORDER, order)
    assert "currency" not in canonical  # the session fills its checkout's (workflows.lifecycle.order_with_currency)
    spec_schemas.assert_valid(spec_schemas.order_response_validator(), {**canonical, "currency": "USD"})


def test_a_webhook_signed_with_a_detached_jws_verifies_and_reads_with_its_event_id() -> None:
    """order.md "Webhook Signature Verification": detached JWT (RFC 7797) in Request-Signature, kid in its header."""
    [order] = _examples("order.md", "ucp", "checkout_id")
    body = canonical_json({**order, "event_id": "evt_1", "created_time": "2026-01-15T12:00:00Z"})
    merchant = SigningKey.generate()
    headers = [("Content-Type", "application/json"), ("Request-Signature", sign_detached(body, merchant))]
    keys = JwkSet((merchant.public_jwk,))
    verify = {"url": "https://c/webhooks/merchants/m", "merchant_profile_url": "https://m/.well-known/ucp"}
    assert ADAPTER.verify_webhook(headers=headers, body=body, keys=keys, allow_insecure_loopback=False, **verify) == (
        merchant.kid
    )
    webhook_id, canonical = ADAPTER.decode_order_event(headers, {**order, "event_id": "evt_1"})
    assert webhook_id == "evt_1" and canonical["id"] == order["id"]
    with pytest.raises(UcpError) as caught:
        ADAPTER.verify_webhook(headers=headers, body=body + b" ", keys=keys, allow_insecure_loopback=False, **verify)
    assert caught.value.code is ErrorCode.SIGNATURE_INVALID


def test_idempotency_is_matched_on_the_parameters() -> None:
    """checkout-rest.md: "409 Conflict if the key is reused with different parameters" -- the same JSON is the same."""
    assert ADAPTER.idempotency.same_payload(b'{"a":1,"b":2}', b'{"b": 2, "a": 1}')
    assert not ADAPTER.idempotency.same_payload(b'{"a":1}', b'{"a":2}')
    assert ADAPTER.idempotency.key_format == "uuid"
