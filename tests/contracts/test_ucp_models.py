"""The shared UCP wire models (contracts.ucp) against the spec's schemas and examples.

Covers CHK-01, CHK-07, CHK-09, CHK-29, CHK-41, CHK-42, CMP-02, DSC-12, ORD-04, ORD-06, ORD-10,
OVR-02..06, OVR-23..27, OVR-51, SIG-06, TRN-15 and DESIGN invariant 8 (strict requests, open responses).
Schema validation is skipped (only that part) when ../shared/ucp-spec is absent.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from pydantic import BaseModel

from contracts import ErrorCode, SigningKey, UcpError
from contracts.ucp import (
    CHECKOUT,
    DISCOUNT,
    FULFILLMENT,
    ORDER,
    Capability,
    Checkout,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutStatus,
    CheckoutUpdateRequest,
    ErrorResponse,
    Order,
    OrderLineItemStatus,
    Profile,
    binding_problems,
    derive_line_item_status,
    dump,
    namespace_authority,
    negotiate,
    parse_checkout_response,
    parse_model,
    parse_order_event,
    parse_order_response,
    parse_profile,
    response_capabilities,
    totals_add_up,
)
from contracts.ucp.checkout_requests import (
    LineItemCreate,
    LineItemUpdate,
    PaymentInput,
    ShippingDestinationInput,
)
from contracts.ucp.order import OrderQuantity
from tests import spec_schemas
from tests.fixtures.bodies import checkout_document
from tests.spec_schemas import requires_spec

VERSION = "2026-04-08"


def _cap(version: str = VERSION, extends: str | list[str] | None = None, name: str = "checkout") -> Capability:
    document: dict[str, Any] = {
        "version": version,
        "spec": f"https://ucp.dev/{version}/specification/{name}",
        "schema": f"https://ucp.dev/{version}/schemas/shopping/{name}.json",
    }
    if extends is not None:
        document["extends"] = extends
    return Capability.model_validate(document)


def _checkout(**overrides: Any) -> dict[str, Any]:
    return checkout_document(VERSION, **overrides)


# ---------------------------------------------------------------------------
# the spec's own examples


def _response_examples(pages: list[str]) -> list[dict[str, Any]]:
    examples = []
    for page in pages:
        for document in spec_schemas.json_examples(page):
            is_response = isinstance(document, dict) and isinstance(document.get("ucp"), dict)
            if is_response and ("id" in document or document["ucp"].get("status") == "error"):
                examples.append(document)
    return examples


@requires_spec
def test_models_agree_with_the_schema_on_every_checkout_example() -> None:
    """CHK-07, OVR-51: an example parses with our models exactly when the spec schema accepts it."""
    checker = spec_schemas.checkout_response_validator()
    examples = _response_examples(["checkout-rest.md", "checkout.md", "overview.md"])
    assert len(examples) >= 8
    accepted = 0
    for example in examples:
        schema_ok = checker.is_valid(example)
        parsed: Checkout | ErrorResponse | None = None
        with contextlib.suppress(UcpError):
            parsed = parse_checkout_response(example)
        assert (parsed is not None) == schema_ok, f"model and schema disagree on example {example.get('id')}"
        if parsed is None:
            continue
        accepted += 1
        expected_type = ErrorResponse if example["ucp"].get("status") == "error" else Checkout
        assert isinstance(parsed, expected_type)
        assert dump(parsed) == example, "a parse/dump round trip must not change a valid document"
    assert accepted >= 8


@requires_spec
def test_models_agree_with_the_schema_on_every_order_example() -> None:
    """ORD-06, ORD-10: orders and their error envelopes from order.md / order-rest.md."""
    checker = spec_schemas.order_response_validator()
    examples = _response_examples(["order.md", "order-rest.md"])
    assert len(examples) >= 4
    for example in examples:
        assert checker.is_valid(example)
        parsed = parse_order_response(example)
        assert isinstance(parsed, ErrorResponse if example["ucp"].get("status") == "error" else Order)
        assert dump(parsed) == example


@requires_spec
def test_spec_request_examples_parse_as_request_models() -> None:
    """The REST page's create/update/complete request bodies are accepted by the strict request models."""
    bodies = [
        document
        for document in spec_schemas.json_examples("checkout-rest.md")
        if isinstance(document, dict) and "ucp" not in document and document
    ]
    creates = [body for body in bodies if "line_items" in body and "id" not in body]
    updates = [body for body in bodies if "line_items" in body and "id" in body]
    completes = [body for body in bodies if "payment" in body and "line_items" not in body]
    assert creates and updates and completes
    for body in creates:
        parse_model(CheckoutCreateRequest, body)
    for body in updates:
        parse_model(CheckoutUpdateRequest, body)
    for body in completes:
        parse_model(CheckoutCompleteRequest, body)


@requires_spec
def test_spec_profiles_validate_and_parse() -> None:
    """SIG-06, OVR-18: overview.md's business and platform profiles; keys become a JwkSet."""
    profiles = [
        document
        for document in spec_schemas.json_examples("overview.md")
        if isinstance(document, dict) and "signing_keys" in document
    ]
    business, platform = profiles
    spec_schemas.assert_valid(spec_schemas.business_profile_validator(), business)
    spec_schemas.assert_valid(spec_schemas.platform_profile_validator(), platform)
    parsed = parse_profile(platform)
    assert parsed.jwks().find("platform_2025") is not None
    assert parsed.webhook_url() == "https://platform.example.com/webhooks/ucp/orders"
    # The business example's key is not a point on P-256: a verifier must refuse it, not crash.
    with pytest.raises(UcpError) as refused:
        parse_profile(business)
    assert refused.value.code is ErrorCode.PROFILE_MALFORMED
    assert Profile.model_validate(business).rest_endpoint() == "https://business.example.com/ucp/v1"


# ---------------------------------------------------------------------------
# responses: open for extension, strict on the rules that matter


def test_unknown_extension_members_survive_a_round_trip() -> None:
    """OVR-51, invariant 8: merchant objects keep members we do not model, at every level."""
    document = _checkout(com_example_loyalty={"points": 12})
    document["line_items"][0]["item"]["com.example.colour"] = "red"
    document["ucp"]["capabilities"][CHECKOUT][0]["com.example.flag"] = True
    parsed = parse_checkout_response(document)
    assert isinstance(parsed, Checkout)
    assert dump(parsed) == document


@pytest.mark.parametrize(
    ("totals", "reason"),
    [
        ([{"type": "total", "amount": 1}], "exactly one 'subtotal'"),
        ([{"type": "subtotal", "amount": 1}, {"type": "subtotal", "amount": 1}, {"type": "total", "amount": 2}], "one"),
        (
            [{"type": "subtotal", "amount": 10}, {"type": "discount", "amount": 5}, {"type": "total", "amount": 15}],
            "neg",
        ),
        ([{"type": "subtotal", "amount": -1}, {"type": "total", "amount": -1}], "negative"),
        (
            [{"type": "subtotal", "amount": 10}, {"type": "credit", "amount": -5}, {"type": "total", "amount": 5}],
            "display",
        ),
        (
            [
                {"type": "subtotal", "amount": 10},
                {"type": "fee", "amount": 5, "lines": [{"display_text": "a", "amount": 4}]},
                {"type": "total", "amount": 15},
            ],
            "sub-lines",
        ),
        ([{"type": "subtotal", "amount": 10.0}, {"type": "total", "amount": 10}], "integer"),
    ],
)
def test_totals_that_break_the_invariants_are_refused(totals: list[dict[str, Any]], reason: str) -> None:
    """CHK-41, CHK-42, CHK-37: sign per type, one subtotal and one total, display_text, sub-line sums, integers."""
    with pytest.raises(UcpError) as refused:
        parse_checkout_response(_checkout(totals=totals))
    assert refused.value.code is ErrorCode.MERCHANT_RESPONSE_INVALID
    assert refused.value.pointer is not None and refused.value.pointer.startswith("/totals")


def test_totals_verification_helper() -> None:
    """CMP-06: the platform may check that the entries add up to the total."""
    good = parse_checkout_response(
        _checkout(
            totals=[
                {"type": "subtotal", "amount": 5000},
                {"type": "discount", "amount": -500},
                {"type": "tax", "amount": 360},
                {"type": "total", "amount": 4860},
            ]
        )
    )
    assert isinstance(good, Checkout) and totals_add_up(good.totals)
    bad = parse_checkout_response(_checkout(totals=[{"type": "subtotal", "amount": 1}, {"type": "total", "amount": 2}]))
    assert isinstance(bad, Checkout) and not totals_add_up(bad.totals)


def test_escalation_needs_continue_url_and_a_buyer_message() -> None:
    """CHK-09, CHK-29: requires_escalation without continue_url or requires_* message is not valid."""
    message = {"type": "error", "code": "x", "content": "hand off", "severity": "requires_buyer_input"}
    with pytest.raises(UcpError):
        parse_checkout_response(_checkout(status="requires_escalation", messages=[message]))
    with pytest.raises(UcpError):
        parse_checkout_response(
            _checkout(
                status="requires_escalation",
                continue_url="https://merchant.example/c/1",
                messages=[{**message, "severity": "recoverable"}],
            )
        )
    ok = parse_checkout_response(
        _checkout(status="requires_escalation", continue_url="https://merchant.example/c/1", messages=[message])
    )
    assert isinstance(ok, Checkout) and ok.status is CheckoutStatus.REQUIRES_ESCALATION


def test_completed_checkout_carries_its_order() -> None:
    """CMP-02: completed implies order.id and order.permalink_url."""
    with pytest.raises(UcpError):
        parse_checkout_response(_checkout(status="completed"))
    done = parse_checkout_response(
        _checkout(status="completed", order={"id": "ord_1", "permalink_url": "https://m.example/o/1"})
    )
    assert isinstance(done, Checkout) and done.status.is_terminal


def test_ucp_status_discriminates_the_shape() -> None:
    """CHK-07, TRN-15: an error envelope is never parsed as a checkout, and a checkout never as an error."""
    error = {
        "ucp": {"version": VERSION, "status": "error"},
        "messages": [{"type": "error", "code": "out_of_stock", "content": "gone", "severity": "unrecoverable"}],
        "continue_url": "https://merchant.example/",
    }
    assert isinstance(parse_checkout_response(error), ErrorResponse)
    with pytest.raises(UcpError):  # error_response.json is additionalProperties: false
        parse_checkout_response({**error, "id": "chk_1"})
    with pytest.raises(UcpError):
        parse_checkout_response({**error, "messages": []})
    with pytest.raises(UcpError) as bad_status:
        parse_checkout_response({**error, "ucp": {"version": VERSION, "status": "maybe"}})
    assert bad_status.value.pointer == "/ucp/status"


def test_unknown_checkout_status_is_refused() -> None:
    """CHK-01: the status is one of six values."""
    with pytest.raises(UcpError) as refused:
        parse_checkout_response(_checkout(status="pending"))
    assert refused.value.pointer == "/status"
    assert [status.value for status in CheckoutStatus] == [
        "incomplete",
        "requires_escalation",
        "ready_for_complete",
        "complete_in_progress",
        "completed",
        "canceled",
    ]


def test_discount_allocations_must_add_up() -> None:
    """DSC-12: sum(allocations) == applied amount."""
    applied = {"title": "20%", "amount": 800, "allocations": [{"path": "$.line_items[0]", "amount": 700}]}
    with pytest.raises(UcpError):
        parse_checkout_response(_checkout(discounts={"codes": ["X"], "applied": [applied]}))


# ---------------------------------------------------------------------------
# requests: strict


@pytest.mark.parametrize(
    ("body", "pointer", "reason"),
    [
        ({"line_items": [{"item": {"id": "a", "title": "x"}, "quantity": 1}]}, "/line_items/0/item/title", "extra"),
        ({"line_items": [{"item": {"id": "a"}, "quantity": -1}]}, "/line_items/0/quantity", "greater"),
        ({"line_items": [{"item": {"id": "a"}, "quantity": "2"}]}, "/line_items/0/quantity", "int"),
        ({"line_items": [{"item": {"id": "a"}, "quantity": True}]}, "/line_items/0/quantity", "int"),
        ({"line_items": []}, "/line_items", "too_short"),
        ({}, "/line_items", "missing"),
        ({"line_items": [{"item": {"id": "a"}, "quantity": 1}], "status": "completed"}, "/status", "extra"),
        (
            {
                "line_items": [{"item": {"id": "a"}, "quantity": 1}],
                "fulfillment": {"methods": [{"type": "shipping", "destinations": [{"name": "x", "id": "s1"}]}]},
            },
            "/fulfillment/methods/0/destinations/0/id",
            "extra",
        ),
        (
            {"line_items": [{"item": {"id": "a"}, "quantity": 1}], "context": {"eligibility": ["Not A Domain"]}},
            "/context/eligibility/0",
            "pattern",
        ),
    ],
)
def test_strict_request_models_name_the_offending_member(body: dict[str, Any], pointer: str, reason: str) -> None:
    """Invariant 8: unknown or omitted-in-request members and bad values -> validation_failed + JSON pointer."""
    with pytest.raises(UcpError) as refused:
        parse_model(CheckoutCreateRequest, body)
    assert refused.value.code is ErrorCode.VALIDATION_FAILED
    assert refused.value.pointer == pointer
    assert reason in str(refused.value.detail["reason"])


def test_open_members_in_requests_stay_open() -> None:
    """Buyer, context, signals and payment instruments are open in the schema (extension/handler members)."""
    body = {
        "line_items": [{"item": {"id": "a"}, "quantity": 1}],
        "buyer": {"email": "a@b.example", "com.example.tier": "gold"},
        "signals": {"dev.ucp.buyer_ip": "203.0.113.9"},
        "payment": {
            "instruments": [
                {"id": "i", "handler_id": "h", "type": "card", "credential": {"type": "token", "token": "t", "x": 1}}
            ]
        },
    }
    parsed = parse_model(CheckoutCreateRequest, body)
    assert dump(parsed) == body


@requires_spec
@pytest.mark.parametrize(
    ("model", "operation", "body"),
    [
        (
            CheckoutCreateRequest,
            "create",
            {
                "line_items": [{"item": {"id": "a"}, "quantity": 2}],
                "buyer": {"email": "a@b.example"},
                "context": {"address_country": "US", "eligibility": ["com.example.member"]},
                "fulfillment": {
                    "methods": [{"type": "shipping", "destinations": [{"id": "d1", "address_country": "US"}]}]
                },
                "discounts": {"codes": ["SAVE10"]},
                "attribution": {"utm_source": "agent"},
            },
        ),
        (
            CheckoutUpdateRequest,
            "update",
            {
                "id": "chk_1",
                "line_items": [{"id": "li_1", "item": {"id": "a"}, "quantity": 1}],
                "fulfillment": {
                    "methods": [
                        {
                            "id": "m1",
                            "line_item_ids": ["li_1"],
                            "selected_destination_id": "d1",
                            "groups": [{"id": "g1", "selected_option_id": "standard"}],
                        }
                    ]
                },
                "discounts": {"codes": []},
            },
        ),
        (
            CheckoutCompleteRequest,
            "complete",
            {
                "payment": {
                    "instruments": [
                        {
                            "id": "pi_1",
                            "handler_id": "tok",
                            "type": "card",
                            "selected": True,
                            "credential": {"type": "token", "token": "tok_123"},
                        }
                    ]
                },
                "signals": {"dev.ucp.buyer_ip": "203.0.113.9"},
            },
        ),
    ],
)
def test_request_bodies_validate_against_the_resolved_request_schema(
    model: type[BaseModel], operation: str, body: dict[str, Any]
) -> None:
    """Request models only accept what the operation's resolved schema allows (ucp_request annotations)."""
    parsed = parse_model(model, body)
    spec_schemas.assert_valid(spec_schemas.request_validator(operation), dump(parsed))


@requires_spec
@pytest.mark.parametrize(
    ("model", "operation", "schema_ref"),
    [
        (CheckoutCreateRequest, "create", spec_schemas.CHECKOUT),
        (CheckoutUpdateRequest, "update", spec_schemas.CHECKOUT),
        (CheckoutCompleteRequest, "complete", spec_schemas.CHECKOUT),
        (LineItemCreate, "create", spec_schemas.SCHEMA_BASE + "shopping/types/line_item.json"),
        (LineItemUpdate, "update", spec_schemas.SCHEMA_BASE + "shopping/types/line_item.json"),
        (ShippingDestinationInput, "update", spec_schemas.SCHEMA_BASE + "shopping/types/shipping_destination.json"),
        (PaymentInput, "complete", spec_schemas.SCHEMA_BASE + "shopping/payment.json"),
    ],
)
def test_request_models_define_no_member_the_resolved_schema_omits(
    model: type[BaseModel], operation: str, schema_ref: str
) -> None:
    """Every member a request model accepts is a property of the resolved request schema (or an extension's)."""
    resolved = spec_schemas.registry(operation).resolver().lookup(schema_ref)
    allowed = _property_names(resolved.contents, resolved.resolver)
    if schema_ref == spec_schemas.CHECKOUT:
        allowed |= {"fulfillment", "discounts"}  # the two extensions the models include (their $defs add them)
    accepted = {field.alias or name for name, field in model.model_fields.items()}
    if model is CheckoutUpdateRequest:
        accepted.discard("id")  # documented exception: checkout-rest.md's update examples still send it
    assert accepted <= allowed, f"{model.__name__} accepts {sorted(accepted - allowed)}"


def _property_names(schema: dict[str, Any], resolver: Any) -> set[str]:
    names = set(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        if "$ref" in branch:
            target = resolver.lookup(branch["$ref"])
            names |= _property_names(target.contents, target.resolver)
        else:
            names |= _property_names(branch, resolver)
    return names


# ---------------------------------------------------------------------------
# profiles and negotiation


def test_namespace_authority_and_spec_url_binding() -> None:
    """OVR-02, OVR-04: reverse-domain names map to an authority; spec/schema URLs must live there."""
    assert namespace_authority("dev.ucp.shopping.checkout") == "ucp.dev"
    assert namespace_authority("com.example.payments.installments") == "example.com"
    assert namespace_authority("com.google.pay") == "google.com"
    assert binding_problems(CHECKOUT, _cap()) == []
    evil = Capability.model_validate(
        {"version": VERSION, "spec": "https://evil.example/spec", "schema": "http://ucp.dev/x.json"}
    )
    assert binding_problems(CHECKOUT, evil) == [
        "spec origin does not match ucp.dev",
        "schema origin does not match ucp.dev",
    ]
    lookalike = Capability.model_validate(
        {"version": VERSION, "spec": "https://notucp.dev/s", "schema": "https://docs.ucp.dev/s.json"}
    )
    assert binding_problems(CHECKOUT, lookalike) == ["spec origin does not match ucp.dev"]


def test_intersection_picks_the_highest_mutual_version() -> None:
    """OVR-25: same name, the latest date both list; disjoint versions exclude the capability."""
    business = {CHECKOUT: [_cap("2026-01-11"), _cap(VERSION)], ORDER: [_cap("2026-01-11", name="order")]}
    platform = {CHECKOUT: [_cap("2026-01-11"), _cap(VERSION), _cap("2026-09-01")], ORDER: [_cap(VERSION, name="order")]}
    result = negotiate(business, platform)
    assert result.version_of(CHECKOUT) == VERSION
    assert ORDER not in result


def test_intersection_prunes_orphaned_extensions_transitively() -> None:
    """OVR-24: an extension whose parents are gone is removed, repeatedly (chains) ; multi-parent needs one."""
    business = {
        FULFILLMENT: [_cap(extends=CHECKOUT, name="fulfillment")],
        "com.example.shopping.gift_wrap": [
            Capability.model_validate(
                {
                    "version": VERSION,
                    "spec": "https://example.com/gift",
                    "schema": "https://example.com/gift.json",
                    "extends": FULFILLMENT,
                }
            )
        ],
        DISCOUNT: [_cap(extends=[CHECKOUT, "dev.ucp.shopping.cart"], name="discount")],
        "dev.ucp.shopping.cart": [_cap(name="cart")],
    }
    platform = copy.deepcopy(business)
    result = negotiate(business, platform)  # no checkout on either side
    assert set(result.active) == {DISCOUNT, "dev.ucp.shopping.cart"}  # discount keeps its cart parent
    assert set(result.pruned) == {FULFILLMENT, "com.example.shopping.gift_wrap"}


def test_intersection_drops_capabilities_with_a_foreign_spec_origin() -> None:
    """OVR-05, OVR-06: the decision is visible in Negotiation.rejected."""
    bad = Capability.model_validate(
        {"version": VERSION, "spec": "https://evil.example/checkout", "schema": "https://evil.example/c.json"}
    )
    result = negotiate(
        {CHECKOUT: [bad], ORDER: [_cap(name="order")]}, {CHECKOUT: [_cap()], ORDER: [_cap(name="order")]}
    )
    assert CHECKOUT not in result and ORDER in result
    assert "evil" not in result.rejected[CHECKOUT] and "origin" in result.rejected[CHECKOUT]


def test_response_lists_only_relevant_capabilities() -> None:
    """OVR-27: a checkout response lists checkout + its extensions, never order; an order lists order only."""
    caps = {
        CHECKOUT: [_cap()],
        ORDER: [_cap(name="order")],
        FULFILLMENT: [_cap(extends=CHECKOUT, name="fulfillment")],
        DISCOUNT: [_cap(extends=[CHECKOUT, "dev.ucp.shopping.cart"], name="discount")],
    }
    result = negotiate(caps, caps)
    assert list(response_capabilities(result, CHECKOUT)) == [CHECKOUT, DISCOUNT, FULFILLMENT]
    assert response_capabilities(result, ORDER) == {ORDER: [{"version": VERSION}]}


def test_profile_keys_are_parsed_strictly() -> None:
    """SIG-06: a profile whose signing key carries private material is malformed."""
    key = SigningKey.generate()
    document = {
        "ucp": {"version": VERSION, "services": {}, "payment_handlers": {}},
        "signing_keys": [key.public_jwk.to_dict()],
    }
    assert parse_profile(document).jwks().find(key.kid) is not None
    leaked = copy.deepcopy(document)
    leaked["signing_keys"][0]["d"] = "AAAA"
    with pytest.raises(UcpError) as refused:
        parse_profile(leaked)
    assert refused.value.code is ErrorCode.PROFILE_MALFORMED
    with pytest.raises(UcpError) as bad_version:
        parse_profile({**document, "ucp": {**document["ucp"], "version": "draft"}})
    assert bad_version.value.pointer == "/ucp/version"


# ---------------------------------------------------------------------------
# orders


def test_line_item_status_derivation() -> None:
    """ORD-04: removed / fulfilled / partial / processing from the quantities."""
    assert derive_line_item_status(OrderQuantity(total=0, fulfilled=0)) is OrderLineItemStatus.REMOVED
    assert derive_line_item_status(OrderQuantity(total=2, fulfilled=2)) is OrderLineItemStatus.FULFILLED
    assert derive_line_item_status(OrderQuantity(total=2, fulfilled=1)) is OrderLineItemStatus.PARTIAL
    assert derive_line_item_status(OrderQuantity(total=2, fulfilled=0)) is OrderLineItemStatus.PROCESSING


def _order(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ucp": {"version": VERSION, "capabilities": {ORDER: [{"version": VERSION}]}},
        "id": "ord_1",
        "checkout_id": "chk_1",
        "permalink_url": "https://merchant.example/orders/ord_1",
        "currency": "USD",
        "line_items": [
            {
                "id": "li_1",
                "item": {"id": "a", "title": "A", "price": 100},
                "quantity": {"original": 1, "total": 1, "fulfilled": 0},
                "totals": [{"type": "subtotal", "amount": 100}, {"type": "total", "amount": 100}],
                "status": "processing",
            }
        ],
        "fulfillment": {"expectations": [], "events": []},
        "totals": [{"type": "subtotal", "amount": 100}, {"type": "total", "amount": 100}],
    }
    document.update(overrides)
    return document


def test_order_event_payload_and_status_consistency() -> None:
    """ORD-04, ORD-24, D7: webhook bodies are full snapshots, optionally with event_id/created_time."""
    payload = parse_order_event({**_order(), "event_id": "evt_1", "created_time": "2026-04-08T12:00:00Z"})
    assert payload.event_id == "evt_1" and payload.created_time is not None
    wrong = _order()
    wrong["line_items"][0]["status"] = "fulfilled"
    with pytest.raises(UcpError):
        parse_order_event(wrong)
