"""Catalog, totals, fulfillment options and discount codes as the platform sees them.

Covers CHK-13, CHK-19, CHK-20, CHK-26, CHK-37, CHK-41, CHK-45, TRN-15, FUL-01, FUL-02, FUL-10,
DSC-03, DSC-04, DSC-06, DSC-07, DSC-12, PAY-02 (every body is also checked against the spec schema).
"""

from __future__ import annotations

from typing import Any

from contracts.ucp import Checkout, parse_checkout_response, totals_add_up
from tests.reference_merchant.conftest import MerchantUnderTest
from tests.reference_merchant.harness import ADDRESS, ready_body


def _totals(document: dict[str, Any]) -> dict[str, int]:
    return {entry["type"]: entry["amount"] for entry in document["totals"]}


def _codes(document: dict[str, Any], kind: str) -> list[str]:
    return [message["code"] for message in document.get("messages", []) if message["type"] == kind]


async def test_totals_add_up_and_follow_the_rendering_contract(shop: MerchantUnderTest) -> None:
    """CHK-41, CHK-37: subtotal, shipping, tax (8 %), total; integers; the sum of entries equals the total."""
    body = ready_body([("tshirt_red", 2), ("mug_ceramic", 1)])
    document = (await shop.client.create(body)).json
    assert _totals(document) == {"subtotal": 6500, "fulfillment": 500, "tax": 560, "total": 7560}
    parsed = parse_checkout_response(document)
    assert isinstance(parsed, Checkout) and totals_add_up(parsed.totals)
    assert [line["totals"] for line in document["line_items"]] == [
        [{"type": "subtotal", "amount": 5000}, {"type": "total", "amount": 5000}],
        [{"type": "subtotal", "amount": 1500}, {"type": "total", "amount": 1500}],
    ]
    assert {link["type"] for link in document["links"]} >= {"terms_of_service", "privacy_policy"}


async def test_shipping_options_and_selection(shop: MerchantUnderTest) -> None:
    """FUL-02, FUL-10, FUL-14: one group with distinct option titles; the selection prices the fulfillment line."""
    body = ready_body()
    del body["fulfillment"]["methods"][0]["groups"]
    offered = (await shop.client.create(body)).json
    method = offered["fulfillment"]["methods"][0]
    assert method["selected_destination_id"] == "dest_home"
    [group] = method["groups"]
    assert [option["id"] for option in group["options"]] == ["standard", "express"]
    assert len({option["title"] for option in group["options"]}) == 2
    assert "selected_option_id" not in group and offered["status"] == "incomplete"
    assert offered["messages"][0]["path"] == "$.fulfillment.methods[0].groups[0].selected_option_id"

    body["fulfillment"]["methods"][0]["groups"] = [{"id": group["id"], "selected_option_id": "express"}]
    chosen = (await shop.client.update(offered["id"], body)).json
    assert _totals(chosen)["fulfillment"] == 1500 and chosen["status"] == "ready_for_complete"


async def test_shipping_address_is_asked_for_and_checked(shop: MerchantUnderTest) -> None:
    """FUL-01..: a missing address is a recoverable message; an unsupported country is address_undeliverable."""
    body = ready_body()
    body["fulfillment"] = {"methods": [{"type": "shipping"}]}
    asked = (await shop.client.create(body)).json
    assert asked["messages"][0]["path"] == "$.fulfillment.methods[0].destinations"

    body["fulfillment"]["methods"][0]["destinations"] = [{**ADDRESS, "address_country": "FR"}]
    refused = (await shop.client.update(asked["id"], body)).json
    assert _codes(refused, "error") == ["address_undeliverable"]
    assert refused["fulfillment"]["methods"][0]["destinations"][0]["id"] == "dest_1"


async def test_digital_goods_need_no_fulfillment(shop: MerchantUnderTest) -> None:
    """FUL-01: an e-book alone is ready without any shipping data."""
    body = {"line_items": [{"item": {"id": "ebook_ucp"}, "quantity": 1}], "buyer": {"email": "a@b.example"}}
    document = (await shop.client.create(body)).json
    assert document["status"] == "ready_for_complete" and "fulfillment" not in document


async def test_item_level_and_order_level_discounts(shop: MerchantUnderTest) -> None:
    """DSC-04, DSC-12: items_discount with allocations per line, an order discount without, case-insensitive codes."""
    body = ready_body([("tshirt_red", 2), ("mug_ceramic", 1)], discounts={"codes": ["summer20", "SAVE10"]})
    document = (await shop.client.create(body)).json
    totals = _totals(document)
    assert totals["items_discount"] == -1300 and totals["discount"] == -1000
    assert sum(amount for kind, amount in totals.items() if kind != "total") == totals["total"]
    summer, save = document["discounts"]["applied"]
    assert summer["code"] == "summer20" and summer["allocations"] == [
        {"path": "$.line_items[0]", "amount": 1000},
        {"path": "$.line_items[1]", "amount": 300},
    ]
    assert "allocations" not in save and save["amount"] == 1000
    assert document["line_items"][0]["totals"] == [
        {"type": "subtotal", "amount": 5000},
        {"type": "items_discount", "amount": -1000},
        {"type": "total", "amount": 4000},
    ]
    assert document["discounts"]["codes"] == ["summer20", "SAVE10"]


async def test_rejected_codes_are_warnings_with_paths(shop: MerchantUnderTest) -> None:
    """DSC-06, DSC-07: each rejection is a warning pointing at its code; the session is not blocked."""
    codes = ["EXPIRED50", "NOPE", "MEMBERS5", "SAVE10", "save10"]
    document = (await shop.client.create(ready_body(discounts={"codes": codes}))).json
    warnings = {m["path"]: m["code"] for m in document["messages"] if m["type"] == "warning"}
    assert warnings == {
        "$.discounts.codes[0]": "discount_code_expired",
        "$.discounts.codes[1]": "discount_code_invalid",
        "$.discounts.codes[2]": "discount_code_user_not_logged_in",
        "$.discounts.codes[4]": "discount_code_already_applied",
    }
    assert [entry["code"] for entry in document["discounts"]["applied"]] == ["SAVE10"]
    assert document["status"] == "ready_for_complete"


async def test_discount_codes_have_replacement_semantics(shop: MerchantUnderTest) -> None:
    """DSC-03: codes sent replace earlier ones; [] clears them."""
    created = (await shop.client.create(ready_body(discounts={"codes": ["SAVE10"]}))).json
    assert _totals(created)["discount"] == -1000
    cleared = (await shop.client.update(created["id"], ready_body(discounts={"codes": []}))).json
    assert "discount" not in _totals(cleared) and cleared["discounts"] == {"codes": [], "applied": []}
    small = await shop.client.update(created["id"], ready_body([("mug_ceramic", 1)], discounts={"codes": ["SAVE10"]}))
    assert _codes(small.json, "warning") == ["discount_code_user_ineligible"]


async def test_unavailable_items_are_reported_not_silently_dropped(shop: MerchantUnderTest) -> None:
    """CHK-11, TRN-15: unknown and sold-out items are left out with errors; stock caps quantities with a warning."""
    body = ready_body([("sticker_pack", 25), ("no_such_item", 1), ("hoodie_sold_out", 1)])
    document = (await shop.client.create(body)).json
    assert [line["item"]["id"] for line in document["line_items"]] == ["sticker_pack"]
    assert document["line_items"][0]["quantity"] == 10
    assert _codes(document, "warning") == ["quantity_adjusted"]
    assert set(_codes(document, "error")) >= {"item_unavailable", "out_of_stock"}
    assert document["status"] == "incomplete"
    fixed = (await shop.client.update(document["id"], ready_body([("tshirt_red", 1)]))).json
    assert fixed["status"] == "ready_for_complete" and "messages" not in fixed


async def test_nothing_purchasable_is_the_error_envelope(shop: MerchantUnderTest) -> None:
    """CHK-08, TRN-15: HTTP 200, ucp.status error, unrecoverable, continue_url, no session."""
    unknown = await shop.client.create(ready_body([("no_such_item", 1)]))
    assert unknown.status == 200 and unknown.json["ucp"]["status"] == "error"
    assert unknown.json["messages"][0] == {
        "type": "error",
        "code": "item_unavailable",
        "content": "None of the requested items can be purchased.",
        "severity": "unrecoverable",
    }
    assert unknown.json["continue_url"] == shop.config.base_url
    sold_out = await shop.client.create(ready_body([("hoodie_sold_out", 2)]))
    assert sold_out.code == "out_of_stock"


async def test_disclosures_and_unrecognised_claims(shop: MerchantUnderTest) -> None:
    """CHK-26 (disclosure warning on its line), CHK-19/20 (unknown claim warns, never blocks)."""
    body = ready_body([("nut_butter", 1)], context={"eligibility": ["com.example.loyalty_gold"]})
    document = (await shop.client.create(body)).json
    disclosure = next(m for m in document["messages"] if m["code"] == "allergens")
    assert disclosure["presentation"] == "disclosure" and disclosure["path"] == "$.line_items[0]"
    claim = next(m for m in document["messages"] if m["code"] == "eligibility_not_accepted")
    assert claim["type"] == "warning" and claim["path"] == "$.context.eligibility[0]"
    assert document["status"] == "ready_for_complete"


async def test_same_inputs_give_the_same_checkout(shop: MerchantUnderTest) -> None:
    """CHK-13: pricing and messages are deterministic; only the ids and URLs naming the session differ."""
    body = ready_body([("tshirt_red", 3), ("nut_butter", 2)], discounts={"codes": ["SUMMER20", "BOGUS"]})
    first = (await shop.client.create(body)).json
    second = (await shop.client.create(body)).json
    for document in (first, second):
        document.pop("id")
        document.pop("continue_url")
    assert first == second


async def test_update_is_a_full_replacement(shop: MerchantUnderTest) -> None:
    """CHK-15: members left out of a PUT are cleared (buyer, fulfillment, discounts)."""
    created = (await shop.client.create(ready_body(discounts={"codes": ["SAVE10"]}))).json
    line_id = created["line_items"][0]["id"]
    bare = {"line_items": [{"id": line_id, "item": {"id": "tshirt_red"}, "quantity": 1}]}
    replaced = (await shop.client.update(created["id"], bare)).json
    assert "buyer" not in replaced and "discounts" not in replaced
    assert "destinations" not in replaced["fulfillment"]["methods"][0]
    assert replaced["line_items"][0]["id"] == line_id
    assert replaced["status"] == "incomplete"


async def test_attribution_does_not_change_the_checkout_but_reaches_the_order(shop: MerchantUnderTest) -> None:
    """CHK-51, ORD-05: same checkout with or without attribution; the order carries the snapshot."""
    from tests.reference_merchant.harness import payment_body

    attribution = {"utm_source": "agent", "gclid": "abc"}
    plain = (await shop.client.create(ready_body())).json
    tagged = (await shop.client.create(ready_body(attribution=attribution))).json
    for document in (plain, tagged):
        document.pop("id")
        document.pop("continue_url")
    assert plain == tagged
    checkout = (await shop.client.create(ready_body(attribution=attribution))).json
    order_id = (await shop.client.complete(checkout["id"], payment_body())).json["order"]["id"]
    assert (await shop.client.get_order(order_id)).json["attribution"] == attribution
