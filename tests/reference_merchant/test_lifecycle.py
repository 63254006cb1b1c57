"""The checkout status machine over real HTTP: every transition, escalation, async completion, expiry, cancel.

Every response here is signature-verified and validated against the spec's
checkout_response schema by the client (see harness.UcpClient).
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.ucp import CheckoutStatus
from tests.reference_merchant.conftest import MerchantUnderTest
from tests.reference_merchant.harness import payment_body, ready_body

S = CheckoutStatus


def _errors(document: dict[str, Any]) -> dict[str, str]:
    return {m["code"]: m["severity"] for m in document.get("messages", []) if m["type"] == "error"}


async def test_incomplete_until_the_buyer_email_then_ready(shop: MerchantUnderTest) -> None:
    """CHK-01, CHK-02, CHK-30, TRN-05: create answers 201 incomplete with a recoverable message; update fixes it."""
    body = ready_body()
    del body["buyer"]
    created = await shop.client.create(body)
    assert created.status == 201
    checkout = created.json
    assert checkout["status"] == S.INCOMPLETE
    assert _errors(checkout) == {"missing": "recoverable"}
    assert checkout["messages"][0]["path"] == "$.buyer.email"
    assert checkout["continue_url"].startswith(f"{shop.url}/checkout/{checkout['id']}?token=")
    assert checkout["expires_at"] == "2026-04-08T18:00:00Z"  # 6 h default TTL

    updated = await shop.client.update(checkout["id"], ready_body())
    assert updated.status == 200 and updated.json["status"] == S.READY_FOR_COMPLETE
    assert "messages" not in updated.json


async def test_complete_places_exactly_one_order(shop: MerchantUnderTest) -> None:
    """CMP-02, CHK-31, SIG-29: ready -> completed with order id and permalink; terminal has no continue_url."""
    checkout = (await shop.client.create(ready_body())).json
    assert checkout["status"] == S.READY_FOR_COMPLETE
    done = await shop.client.complete(checkout["id"], payment_body())
    assert done.status == 200
    assert done.json["status"] == S.COMPLETED
    assert done.json["order"]["id"].startswith("ord_") and done.json["order"]["permalink_url"]
    assert "continue_url" not in done.json
    assert all("credential" not in instrument for instrument in done.json["payment"]["instruments"])  # PAY-02
    again = await shop.client.get(checkout["id"])
    assert again.json["status"] == S.COMPLETED and again.json["order"] == done.json["order"]
    assert await shop.merchant.count_orders() == 1


async def test_escalation_for_buyer_input_and_back(shop: MerchantUnderTest) -> None:
    """CHK-09, CHK-29, CHK-03: requires_escalation with continue_url; incomplete <-> requires_escalation by update."""
    created = await shop.client.create(ready_body([("watch_engraved", 1)]))
    checkout = created.json
    assert checkout["status"] == S.REQUIRES_ESCALATION
    assert _errors(checkout) == {"engraving_required": "requires_buyer_input"}
    assert checkout["continue_url"]

    without_watch = await shop.client.update(checkout["id"], ready_body([("mug_ceramic", 1)]))
    assert without_watch.json["status"] == S.READY_FOR_COMPLETE
    watch_again = ready_body([("watch_engraved", 1)])
    del watch_again["buyer"]
    back = await shop.client.update(checkout["id"], watch_again)
    assert back.json["status"] == S.REQUIRES_ESCALATION
    assert _errors(back.json) == {"missing": "recoverable", "engraving_required": "requires_buyer_input"}

    still = await shop.client.update(checkout["id"], ready_body([("watch_engraved", 1)]))
    assert still.json["status"] == S.REQUIRES_ESCALATION
    assert await shop.merchant.complete_buyer_handoff(checkout["id"]) is S.READY_FOR_COMPLETE
    after = await shop.client.get(checkout["id"])
    assert after.json["status"] == S.READY_FOR_COMPLETE
    done = await shop.client.complete(checkout["id"], payment_body())
    assert done.json["status"] == S.COMPLETED


async def test_high_value_orders_need_buyer_review(shop: MerchantUnderTest) -> None:
    """CHK-09, CHK-10: a total at or over the review threshold is requires_buyer_review from the start."""
    checkout = (await shop.client.create(ready_body([("tshirt_red", 20)]))).json
    assert checkout["status"] == S.REQUIRES_ESCALATION
    assert _errors(checkout) == {"high_value_review": "requires_buyer_review"}
    await shop.merchant.complete_buyer_handoff(checkout["id"])
    assert (await shop.client.get(checkout["id"])).json["status"] == S.READY_FOR_COMPLETE


async def test_asynchronous_completion_settles_with_time(shop: MerchantUnderTest) -> None:
    """CMP-03, CMP-04, ORD-23: an 'async' token answers complete_in_progress; later GET shows completed + order."""
    checkout = (await shop.client.create(ready_body())).json
    pending = await shop.client.complete(checkout["id"], payment_body("async_tok_1"))
    assert pending.json["status"] == S.COMPLETE_IN_PROGRESS
    assert "order" not in pending.json and pending.json["continue_url"]
    assert (await shop.client.get(checkout["id"])).json["status"] == S.COMPLETE_IN_PROGRESS
    assert await shop.merchant.count_orders() == 0

    shop.clock.advance(seconds=shop.config.async_completion_seconds)
    settled = await shop.client.get(checkout["id"])
    assert settled.json["status"] == S.COMPLETED and settled.json["order"]["id"]
    await shop.merchant.deliver_webhooks()
    [created] = shop.site.webhooks["agent"]
    assert created.document["id"] == settled.json["order"]["id"]


async def test_asynchronous_completion_settles_without_a_reader(shop: MerchantUnderTest) -> None:
    """The background work (tick) places the order even if nobody polls the session."""
    checkout = (await shop.client.create(ready_body())).json
    await shop.client.complete(checkout["id"], payment_body("async_tok_2"))
    shop.clock.advance(seconds=shop.config.async_completion_seconds)
    await shop.merchant.tick()
    order = await shop.merchant.order_for_checkout(checkout["id"])
    assert order is not None
    assert [hook.document["id"] for hook in shop.site.webhooks["agent"]] == [order.id]


async def test_three_d_secure_escalates_at_complete_then_completes(shop: MerchantUnderTest) -> None:
    """CMP-05 (overview.md Scenario B): requires_3ds + continue_url; after the handoff a new complete succeeds."""
    checkout = (await shop.client.create(ready_body())).json
    challenged = await shop.client.complete(checkout["id"], payment_body("3ds_tok"))
    assert challenged.json["status"] == S.REQUIRES_ESCALATION
    assert _errors(challenged.json) == {"requires_3ds": "requires_buyer_input"}
    assert challenged.json["continue_url"]
    refused = await shop.client.complete(checkout["id"], payment_body("3ds_tok"))
    assert refused.status == 409 and refused.code == "transition_invalid"
    await shop.merchant.complete_buyer_handoff(checkout["id"])
    done = await shop.client.complete(checkout["id"], payment_body("3ds_tok"))
    assert done.json["status"] == S.COMPLETED


@pytest.mark.parametrize(
    ("token", "handler", "code"),
    [("decline_card", "ref_tokenizer", "payment_failed"), ("tok_ok", "someone_else", "payment_failed")],
)
async def test_refused_payment_keeps_the_session_ready(
    shop: MerchantUnderTest, token: str, handler: str, code: str
) -> None:
    """CHK-11, PAY-05: a declined card or an unknown handler is a recoverable message; nothing is charged."""
    checkout = (await shop.client.create(ready_body())).json
    reply = await shop.client.complete(checkout["id"], payment_body(token, handler))
    assert reply.status == 200
    assert reply.json["status"] == S.READY_FOR_COMPLETE
    assert _errors(reply.json) == {code: "recoverable"}
    assert await shop.merchant.count_orders() == 0
    assert (await shop.client.complete(checkout["id"], payment_body())).json["status"] == S.COMPLETED


@pytest.mark.parametrize("setup", ["incomplete", "requires_escalation", "ready_for_complete"])
async def test_cancel_from_every_open_status(shop: MerchantUnderTest, setup: str) -> None:
    """CMP-14, CHK-01: any non-terminal session (but complete_in_progress, see lifecycle) can be canceled."""
    body = {
        "incomplete": {"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]},
        "requires_escalation": ready_body([("watch_engraved", 1)]),
        "ready_for_complete": ready_body(),
    }[setup]
    checkout = (await shop.client.create(body)).json
    assert checkout["status"] == setup
    canceled = await shop.client.cancel(checkout["id"])
    assert canceled.status == 200 and canceled.json["status"] == S.CANCELED
    assert "continue_url" not in canceled.json


async def _completed(shop: MerchantUnderTest) -> str:
    checkout = (await shop.client.create(ready_body())).json
    await shop.client.complete(checkout["id"], payment_body())
    return str(checkout["id"])


async def _canceled(shop: MerchantUnderTest) -> str:
    checkout = (await shop.client.create(ready_body())).json
    await shop.client.cancel(checkout["id"])
    return str(checkout["id"])


async def _in_progress(shop: MerchantUnderTest) -> str:
    checkout = (await shop.client.create(ready_body())).json
    await shop.client.complete(checkout["id"], payment_body("async_tok"))
    return str(checkout["id"])


async def _incomplete(shop: MerchantUnderTest) -> str:
    return str((await shop.client.create({"line_items": [{"item": {"id": "mug_ceramic"}, "quantity": 1}]})).json["id"])


async def _escalated(shop: MerchantUnderTest) -> str:
    return str((await shop.client.create(ready_body([("watch_engraved", 1)]))).json["id"])


ILLEGAL = [
    (_incomplete, "complete"),
    (_escalated, "complete"),
    (_in_progress, "complete"),
    (_in_progress, "update"),
    (_in_progress, "cancel"),
    (_completed, "complete"),
    (_completed, "update"),
    (_completed, "cancel"),
    (_canceled, "complete"),
    (_canceled, "update"),
    (_canceled, "cancel"),
]


@pytest.mark.parametrize(("arrange", "operation"), ILLEGAL, ids=[f"{a.__name__[1:]}-{o}" for a, o in ILLEGAL])
async def test_illegal_transitions_are_409_and_change_nothing(
    shop: MerchantUnderTest, arrange: Any, operation: str
) -> None:
    """CMP-11, CMP-13, CMP-01: the spec's protocol error shape {code, content}; the session is unchanged."""
    checkout_id = await arrange(shop)
    before = (await shop.client.get(checkout_id)).json
    call = {
        "complete": lambda: shop.client.complete(checkout_id, payment_body()),
        "update": lambda: shop.client.update(checkout_id, ready_body()),
        "cancel": lambda: shop.client.cancel(checkout_id),
    }[operation]
    reply = await call()
    assert reply.status == 409
    assert reply.json["code"] == "transition_invalid"
    assert reply.json["detail"] == {"status": before["status"], "operation": operation}
    assert set(reply.json) <= {"code", "content", "detail", "continue_url"}
    assert (await shop.client.get(checkout_id)).json == before


async def test_expiry_cancels_open_sessions_when_time_passes(shop: MerchantUnderTest) -> None:
    """CHK-16, CHK-01: after expires_at an open session reads as canceled (with a note) and cannot be completed."""
    checkout = (await shop.client.create(ready_body())).json
    shop.clock.advance(seconds=shop.config.checkout_ttl_seconds - 1)
    assert (await shop.client.get(checkout["id"])).json["status"] == S.READY_FOR_COMPLETE
    shop.clock.advance(seconds=1)
    expired = await shop.client.get(checkout["id"])
    assert expired.json["status"] == S.CANCELED
    assert {m["code"] for m in expired.json["messages"]} == {"session_expired"}
    assert (await shop.client.complete(checkout["id"], payment_body())).status == 409


async def test_expiry_is_applied_by_the_background_work_and_spares_paid_sessions(shop: MerchantUnderTest) -> None:
    """Sessions nobody reads expire too; complete_in_progress is not expired (the buyer has paid)."""
    open_one = (await shop.client.create(ready_body())).json["id"]
    paying = (await shop.client.create(ready_body())).json["id"]
    await shop.client.complete(paying, payment_body("async_tok"))
    shop.merchant.config.async_completion_seconds = 10 * 3600  # type: ignore[misc]
    shop.clock.advance(hours=7)
    await shop.merchant.tick()
    assert (await shop.merchant.checkout_state(open_one)).status is S.CANCELED
    assert (await shop.merchant.checkout_state(paying)).status is S.COMPLETED


async def test_forced_expiry(shop: MerchantUnderTest) -> None:
    """Fault 'forced expiry': expire_checkout makes an open session canceled at once."""
    checkout = (await shop.client.create(ready_body())).json
    assert await shop.merchant.expire_checkout(checkout["id"]) is S.CANCELED
    reply = await shop.client.get(checkout["id"])
    assert reply.json["status"] == S.CANCELED and reply.json["expires_at"] == "2026-04-08T12:00:00Z"


async def test_unknown_sessions_are_not_found(shop: MerchantUnderTest) -> None:
    """CHK-08, CHK-17, ORD-08: a missing session is the business outcome not_found (200, ucp.status error)."""
    missing = await shop.client.get("chk_does_not_exist")
    assert missing.status == 200
    assert missing.json["ucp"]["status"] == "error"
    assert missing.json["messages"] == [
        {"type": "error", "code": "not_found", "content": "Checkout session not found.", "severity": "unrecoverable"}
    ]
    assert (await shop.client.update("chk_nope", ready_body())).code == "not_found"
    assert (await shop.client.get_order("ord_nope")).code == "not_found"


async def test_a_request_that_fails_does_not_undo_a_due_settlement(shop: MerchantUnderTest) -> None:
    """Time-driven transitions stand on their own: an update refused (409) after the async completion came due
    still leaves the session completed with one order, and the order id never changes afterwards."""
    checkout = (await shop.client.create(ready_body())).json
    await shop.client.complete(checkout["id"], payment_body("async_tok"))
    shop.clock.advance(seconds=shop.config.async_completion_seconds)
    refused = await shop.client.update(checkout["id"], ready_body())
    assert refused.status == 409 and refused.json["detail"]["status"] == S.COMPLETED
    first = (await shop.client.get(checkout["id"])).json
    second = (await shop.client.get(checkout["id"])).json
    assert first["order"] == second["order"] and await shop.merchant.count_orders() == 1


async def test_terminal_sessions_carry_no_progress_errors(shop: MerchantUnderTest) -> None:
    """A canceled session does not ask for a buyer email any more (messages describe what is needed to progress)."""
    checkout = (await shop.client.create({"line_items": [{"item": {"id": "nut_butter"}, "quantity": 1}]})).json
    assert "missing" in _errors(checkout)
    canceled = (await shop.client.cancel(checkout["id"])).json
    assert _errors(canceled) == {}
    assert [m["code"] for m in canceled["messages"]] == ["allergens"]  # the disclosure still applies
