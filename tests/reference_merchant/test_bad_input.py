"""Bad input never gets a 500: every refusal carries a frozen code (DESIGN.md invariants 8 and 10).

Hand-picked cases first, then a property-based fuzz over the mutating endpoints with properly signed
requests (so the fuzz reaches the parsers, not just the signature check). Covers TRN-03, TRN-08, TRN-09.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts import ErrorCode
from contracts.ucp import ErrorResponse, parse_checkout_response
from tests import spec_schemas
from tests.reference_merchant.conftest import MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import Reply, ready_body

FROZEN = {code.value for code in ErrorCode}


def assert_ucp_error(reply: Reply, status: int, code: str, pointer: str | None = None) -> None:
    assert reply.status == status, reply.body[:300]
    assert reply.json["code"] == code
    assert set(reply.json) <= {"code", "content", "pointer", "detail", "continue_url"}
    if pointer is not None:
        assert reply.json["pointer"] == pointer


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"line_items": [', "malformed_json"),
        (b"", "malformed_json"),
        (b'{"a": 1, "a": 2}', "malformed_json"),  # duplicate keys: parser differential
        (b'{"line_items": NaN}', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[]", "validation_failed"),
        (b'"text"', "validation_failed"),
    ],
)
async def test_malformed_bodies(shop: MerchantUnderTest, raw: bytes, code: str) -> None:
    reply = await shop.client.send("POST", "/checkout-sessions", raw=raw)
    assert_ucp_error(reply, 400, code)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": -1}]}, "/line_items/0/quantity"),
        ({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 0}]}, "/line_items/0/quantity"),
        ({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 2.5}]}, "/line_items/0/quantity"),
        ({"line_items": [{"item": {"id": ""}, "quantity": 1}]}, "/line_items/0/item/id"),
        ({"line_items": [{"item": {"id": "tshirt_red", "price": 1}, "quantity": 1}]}, "/line_items/0/item/price"),
        ({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}], "totals": []}, "/totals"),
        ({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}], "com.vendor.x": {}}, "/com.vendor.x"),
        ({"line_items": [{"item": {"id": "x"}, "quantity": 1}] * 101}, "/line_items"),
        (
            {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}], "buyer": {"email": "x" * 5000}},
            "/buyer/email",
        ),
        (
            {
                "line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}],
                "fulfillment": {"methods": [{"type": "pickup"}]},
            },
            "/fulfillment/methods/0/type",
        ),
        (
            {
                "line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}],
                "fulfillment": {"methods": [{"type": "drone"}]},
            },
            "/fulfillment/methods/0/type",
        ),
    ],
)
async def test_schema_violations_name_the_member(shop: MerchantUnderTest, body: dict[str, Any], pointer: str) -> None:
    """Invariant 8: negative quantities, members the request schema omits or does not define, size limits."""
    reply = await shop.client.create(body)
    assert_ucp_error(reply, 400, "validation_failed", pointer)


async def test_update_references_must_resolve(shop: MerchantUnderTest) -> None:
    """An unknown line item id or a body naming another checkout is refused with a pointer."""
    checkout = (await shop.client.create(ready_body())).json
    unknown_line = {"line_items": [{"id": "li_99", "item": {"id": "tshirt_red"}, "quantity": 1}]}
    assert_ucp_error(
        await shop.client.update(checkout["id"], unknown_line), 400, "validation_failed", "/line_items/0/id"
    )
    other = {**ready_body(), "id": "chk_other"}
    assert_ucp_error(await shop.client.update(checkout["id"], other), 400, "validation_failed", "/id")
    cancel_with_body = await shop.client.send("POST", f"/checkout-sessions/{checkout['id']}/cancel", {"reason": "x"})
    assert_ucp_error(cancel_with_body, 400, "validation_failed", "/reason")


async def test_oversized_bodies_are_413_before_anything_else(start_merchant: StartMerchant) -> None:
    """Invariant 8: the body limit holds even for unsigned requests and lying Content-Length headers."""
    shop = await start_merchant(max_body_bytes=2048)
    big = json.dumps({"line_items": [{"item": {"id": "x" * 3000}, "quantity": 1}]}).encode()
    assert_ucp_error(await shop.client.send("POST", "/checkout-sessions", raw=big), 413, "payload_too_large")
    unsigned = await shop.client.send("POST", "/checkout-sessions", raw=big, sign=False)
    assert_ucp_error(unsigned, 413, "payload_too_large")

    async def chunks() -> Any:  # no Content-Length: the limit applies while streaming
        for _ in range(8):
            yield b" " * 512

    response = await shop.client.http.post(f"{shop.config.endpoint}/checkout-sessions", content=chunks())
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_wrong_media_type_is_415(shop: MerchantUnderTest) -> None:
    """TRN-03: request bodies are application/json."""
    reply = await shop.client.send(
        "POST", "/checkout-sessions", raw=b"line_items=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_ucp_error(reply, 415, "unsupported_media_type")


async def test_unknown_routes_and_methods(shop: MerchantUnderTest) -> None:
    """TRN-04: 404 not_found and 405 method_not_allowed, signed UCP error bodies."""
    missing = await shop.client.send("GET", "/carts")
    assert_ucp_error(missing, 404, "not_found")
    wrong = await shop.client.send("DELETE", "/checkout-sessions/chk_1")
    assert_ucp_error(wrong, 405, "method_not_allowed")
    no_admin = await shop.client.http.get(f"{shop.url}/docs")
    assert no_admin.status_code == 404


# ---------------------------------------------------------------------------
# fuzz

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["line_items", "buyer", "fulfillment", "discounts", "payment", "context", "signals", "attribution", "id", "x"]
)


def _mutations() -> st.SearchStrategy[Any]:
    """Valid-looking bodies with one part replaced by arbitrary JSON, plus arbitrary documents."""
    base = ready_body()
    replaced = st.tuples(_keys, _json).map(lambda pair: {**base, pair[0]: pair[1]})
    line = st.fixed_dictionaries(
        {"item": st.fixed_dictionaries({"id": st.one_of(st.text(max_size=12), _json)}), "quantity": _json}
    )
    lines = st.lists(line, min_size=0, max_size=3).map(lambda items: {**base, "line_items": items})
    return st.one_of(replaced, lines, _json)


@pytest.fixture
async def fuzz_shop(start_merchant: StartMerchant) -> MerchantUnderTest:
    shop = await start_merchant()
    shop.client.validate_schemas = False  # validated below, per shape, with the models
    return shop


_OPERATIONS = st.sampled_from(["create", "update", "complete", "cancel"])


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=_OPERATIONS, body=_mutations())
async def test_fuzzed_bodies_never_cause_a_500(fuzz_shop: MerchantUnderTest, operation: str, body: Any) -> None:
    """Any JSON on any mutation yields a frozen-code protocol error or a schema-valid UCP document — never 500."""
    shop = fuzz_shop
    if operation == "create":
        path = "/checkout-sessions"
        method = "POST"
    else:
        checkout = (await shop.client.create(ready_body())).json
        method = "PUT" if operation == "update" else "POST"
        path = f"/checkout-sessions/{checkout['id']}" + ("" if operation == "update" else f"/{operation}")
    raw = json.dumps(body).encode()
    reply = await shop.client.send(method, path, raw=raw, idempotency_key=str(uuid.uuid4()))
    assert reply.status < 500, reply.body[:500]
    document = reply.json
    if reply.status >= 400:
        assert document["code"] in FROZEN
        return
    parsed = parse_checkout_response(document)
    if not isinstance(parsed, ErrorResponse) and spec_schemas.SPEC_DIR is not None:
        shop.client.validate_schemas = True
        shop.client.validate("checkout", document)
        shop.client.validate_schemas = False


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    checkout_id=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1, max_size=300
    )
)
async def test_fuzzed_ids_never_cause_a_500(fuzz_shop: MerchantUnderTest, checkout_id: str) -> None:
    """Any percent-encoded id in the path is a signed answer: not_found for reads, an error for writes."""
    from urllib.parse import quote

    # "." and ".." are RFC 3986 dot-segments: the client removes them, so they never reach the merchant as ids.
    assume(checkout_id not in {".", ".."})
    encoded = quote(checkout_id, safe="")
    read = await fuzz_shop.client.send("GET", f"/checkout-sessions/{encoded}")
    assert read.status == 200 and read.code == "not_found"
    order = await fuzz_shop.client.send("GET", f"/orders/{encoded}")
    assert order.status == 200 and order.code == "not_found"
    write = await fuzz_shop.client.send("POST", f"/checkout-sessions/{encoded}/cancel", raw=b"{}")
    assert write.status < 500 and write.code in FROZEN
