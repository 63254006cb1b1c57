"""Per-merchant answer policy, merchant errors kept, no orphans, ids mapped both ways (issue 15, issue 12 item 9).

Real HTTP on loopback: the edge merchant answers what each test dictates and
records what the connector really sent; the connector side is the real
profile cache and client.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from contracts import ErrorCode, KeyStore, UcpError, canonical_json
from contracts.detached_jws import sign_detached
from contracts.ucp import RestOperation
from merchants.errors import MerchantCallError
from merchants.webhooks import receive_order_webhook
from tests.fixtures.bodies import checkout_document, order_document
from tests.fixtures.connector_stack import MERCHANT
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Connector, EdgeMerchant, Reply, connector_for, edge_merchant
from tests.merchants.releases.documents import as_2026_01_11

CREATE = {"line_items": [{"item": {"id": "item_1"}, "quantity": 1}], "buyer": {"email": "jane@example.com"}}


async def _call(connector: Connector, operation: RestOperation = RestOperation.CREATE, **kwargs: Any) -> Any:
    body = kwargs.pop("body", CREATE if operation is RestOperation.CREATE else None)
    return await connector.client.call(
        MERCHANT,
        operation,
        body=body,
        idempotency_key=str(uuid.uuid4()) if operation.method != "GET" else None,
        **kwargs,
    )


async def _failure(
    connector: Connector, operation: RestOperation = RestOperation.CREATE, **kwargs: Any
) -> MerchantCallError:
    with pytest.raises(MerchantCallError) as caught:
        await _call(connector, operation, **kwargs)
    return caught.value


# --- response_signatures --------------------------------------------------------------------------------------


async def test_unsigned_answers_are_refused_by_default_and_accepted_when_present_is_configured(
    connector_keys: KeyStore,
) -> None:
    """signatures.md "When Signatures Apply" (RECOMMENDED): required by default; when_present accepts and reports it."""
    async with edge_merchant(connector_keys) as merchant:
        merchant.reply = Reply(signed=False)
        async with connector_for(merchant.url, connector_keys) as strict:
            assert (await _failure(strict)).detail["reason"] == "unsigned"
        async with connector_for(merchant.url, connector_keys, response_signatures="when_present") as relaxed:
            answer = await _call(relaxed)
            assert answer.unsigned_accepted and answer.signed_by is None
            merchant.reply = Reply(signed=True)
            signed = await _call(relaxed)
            assert not signed.unsigned_accepted and signed.signed_by == merchant.signer.kid
            merchant.reply = Reply(tamper=True)  # present but wrong: refused whatever the policy
            assert (await _failure(relaxed)).code is ErrorCode.MERCHANT_SIGNATURE_INVALID


async def test_a_2026_01_11_merchant_signs_with_x_detached_jwt_when_it_signs(connector_keys: KeyStore) -> None:
    """2026-01-11 OpenAPI: responses may carry X-Detached-JWT; our requests carry Request-Signature and Request-Id."""
    async with edge_merchant(connector_keys) as merchant:
        merchant.edit_profile = _release_2026_01_11(merchant)
        merchant.signature = "detached_jws"
        merchant.reply = Reply(body=canonical_json(_checkout_2026_01_11()))
        async with connector_for(merchant.url, connector_keys, default_currency="USD") as connector:
            answer = await _call(connector)
        sent = merchant.received[-1]
        assert "request-signature" in sent.headers and "request-id" in sent.headers
        assert "signature-input" not in sent.headers  # 2026-01-11 signs its own way
        assert answer.release == "2026-01-11" and answer.signed_by == merchant.signer.kid
        assert answer.body["ucp"]["version"] == "2026-04-08"


# --- merchant errors kept -------------------------------------------------------------------------------------


async def test_a_ucp_refusal_reaches_the_platform_with_its_messages(edge: EdgeSetup) -> None:
    """Issue 15: from a UCP error its messages[] (code, content, severity, path); the input refusal is a 4xx."""
    error_body = {
        "ucp": {"version": "2026-04-08", "status": "error"},
        "messages": [
            {
                "type": "error",
                "code": "invalid_quantity",
                "content": "at most 3",
                "severity": "recoverable",
                "path": "$.line_items[0].quantity",
            }
        ],
    }
    edge.merchant.reply = Reply(status=422, body=canonical_json(error_body), signed=False)
    error = await _failure(edge.connector)
    assert (error.code, error.http_status, error.pointer) == (
        ErrorCode.MERCHANT_INPUT_REJECTED,
        422,
        "/line_items/0/quantity",
    )
    assert error.detail["merchant_messages"] == [
        {
            "type": "error",
            "code": "invalid_quantity",
            "content": "at most 3",
            "severity": "recoverable",
            "path": "$.line_items[0].quantity",
        }
    ]
    assert error.detail["merchant_code"] == "invalid_quantity" and error.detail["release"] == "2026-04-08"


async def test_a_non_ucp_refusal_keeps_the_body_itself_bounded_and_redacted(edge: EdgeSetup) -> None:
    """A FastAPI {"detail": [...]} body (the official samples' 422) is kept, at most 4 KiB, e-mail hashed."""
    detail = [{"loc": ["body", "buyer", "email"], "msg": "bad jane@example.com", "type": "value_error"}] * 80
    raw = canonical_json({"detail": detail})
    assert len(raw) > 4096
    edge.merchant.reply = Reply(status=422, body=raw, signed=False)
    error = await _failure(edge.connector)
    kept = error.detail["merchant_body"]
    assert isinstance(kept, str) and kept.startswith('{"detail":[{"loc":["body","buyer","email"]')
    assert "jane@example.com" not in kept and "email:" in kept and len(kept) == 4096
    assert error.code is ErrorCode.MERCHANT_INPUT_REJECTED


async def test_a_payload_too_large_at_the_merchant_is_the_platforms_413(edge: EdgeSetup) -> None:
    """Issue 12 item 9: a body over the merchant's limit (but under ours) is the platform's 4xx, not a 502."""
    edge.merchant.reply = Reply(status=413, body=b"request entity too large", signed=False, content_type="text/plain")
    error = await _failure(edge.connector)
    assert (error.code, error.http_status, error.detail["merchant_body"]) == (
        ErrorCode.PAYLOAD_TOO_LARGE,
        413,
        "request entity too large",
    )


async def test_an_update_names_the_merchants_checkout_not_the_connectors(edge: EdgeSetup) -> None:
    """Issue 12 item 9: a PUT whose id is the connector's cs_ id reaches the merchant with the merchant's own id."""
    body = {"id": "cs_" + "a" * 26, "line_items": [{"id": "li_1", "item": {"id": "item_1"}, "quantity": 1}]}
    await _call(edge.connector, RestOperation.UPDATE, body=body, resource_id="chk_1")
    sent = edge.merchant.received[-1]
    assert sent.path == "/ucp/v1/checkout-sessions/chk_1"
    assert b'"id":"chk_1"' in sent.body and b"cs_" not in sent.body


# --- no orphans -------------------------------------------------------------------------------------------------


async def test_a_created_checkout_whose_answer_is_refused_is_canceled_at_the_merchant(edge: EdgeSetup) -> None:
    """Issue 15 "No orphans": a 201 with a bad signature -> the merchant's checkout is canceled, and said so."""
    edge.merchant.reply = Reply(status=201, tamper=True)
    error = await _failure(edge.connector)
    assert error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID and not error.retryable
    assert (error.detail["orphan_checkout_id"], error.detail["orphan_cancel"]) == ("chk_1", "canceled")
    create, cancel = edge.merchant.received
    assert (cancel.method, cancel.path) == ("POST", "/ucp/v1/checkout-sessions/chk_1/cancel")
    assert cancel.verified is not None and cancel.headers["idempotency-key"] != create.headers["idempotency-key"]


async def test_an_untranslatable_create_answer_is_canceled_too(edge: EdgeSetup) -> None:
    edge.merchant.reply = Reply(status=201, body=canonical_json(checkout_document(line_items="none")))
    error = await _failure(edge.connector)
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and error.pointer == "/line_items"
    assert error.detail["orphan_cancel"] == "canceled" and edge.merchant.received[-1].path.endswith("/cancel")


async def test_a_cancel_that_cannot_get_through_makes_the_create_retryable(edge: EdgeSetup) -> None:
    """The next attempt replays the create under its key (the merchant answers from its cache) and cancels again."""
    key = str(uuid.uuid4())
    refused_create, cancel_down, cancel_ok = (
        Reply(status=201, tamper=True),
        Reply(status=503, body=b"", signed=False),
        Reply(),
    )
    edge.merchant.replies = [refused_create, cancel_down]
    first = await _failure_with_key(edge.connector, key)
    assert first.retryable and first.detail["orphan_cancel"] == "pending"
    edge.merchant.replies = [refused_create, cancel_ok]
    again = await _failure_with_key(edge.connector, key)
    assert not again.retryable and again.detail["orphan_cancel"] == "canceled"
    creates = [received for received in edge.merchant.received if received.path == "/ucp/v1/checkout-sessions"]
    cancels = [received for received in edge.merchant.received if received.path.endswith("/cancel")]
    assert len({received.headers["idempotency-key"] for received in creates}) == 1  # the replay, not a new create
    assert len({received.headers["idempotency-key"] for received in cancels}) == 1  # and the same cancel
    assert first.detail["orphan_checkout_id"] == again.detail["orphan_checkout_id"] == "chk_1"


async def _failure_with_key(connector: Connector, key: str) -> MerchantCallError:
    with pytest.raises(MerchantCallError) as caught:
        await connector.client.call(MERCHANT, RestOperation.CREATE, body=CREATE, idempotency_key=key)
    return caught.value


def _release_2026_01_11(merchant: EdgeMerchant) -> Any:
    def edit(document: dict[str, Any]) -> None:
        translated = as_2026_01_11(dict(document))
        document.clear()
        document.update(translated)

    return edit


def _checkout_2026_01_11() -> dict[str, Any]:
    document = checkout_document()
    document["ucp"] = {
        "version": "2026-01-11",
        "capabilities": [{"name": "dev.ucp.shopping.checkout", "version": "2026-01-11"}],
    }
    document["payment"] = {"handlers": []}
    return document


# --- order webhooks in the merchant's release ---------------------------------------------------------------------


async def test_a_2026_01_11_webhook_is_verified_by_its_detached_jws_and_read_with_its_event_id(
    connector_keys: KeyStore,
) -> None:
    """order.md (2026-01-11): Request-Signature over the body, event_id in it; no Webhook-Id, no UCP-Agent needed."""
    async with edge_merchant(connector_keys) as merchant:
        merchant.edit_profile = _release_2026_01_11(merchant)
        async with connector_for(merchant.url, connector_keys) as connector:
            order = {k: v for k, v in order_document().items() if k != "currency"}
            order["ucp"] = {
                "version": "2026-01-11",
                "capabilities": [{"name": "dev.ucp.shopping.order", "version": "2026-01-11"}],
            }
            body = canonical_json({**order, "event_id": "evt_9", "created_time": "2026-01-15T12:00:00Z"})
            url = "http://connector.example/webhooks/merchants/shop"
            headers = [
                ("Content-Type", "application/json"),
                ("Request-Signature", sign_detached(body, merchant.signer)),
            ]
            received = await receive_order_webhook(connector.profiles, MERCHANT, url=url, headers=headers, body=body)
            assert (received.webhook_id, received.signed_by) == ("evt_9", merchant.signer.kid)
            assert received.order["ucp"]["version"] == "2026-04-08" and "currency" not in received.order
            unsigned = [("Content-Type", "application/json")]
            with pytest.raises(UcpError) as caught:
                await receive_order_webhook(connector.profiles, MERCHANT, url=url, headers=unsigned, body=body)
            assert caught.value.code is ErrorCode.SIGNATURE_MISSING  # webhooks are signed whatever the release


async def test_a_2026_01_11_update_reads_the_current_checkout_first_to_name_its_ids(connector_keys: KeyStore) -> None:
    """2026-01-11 updates must name the method/group ids the platform may leave out: GET, then PUT with them."""
    current = _checkout_2026_01_11()
    current["fulfillment"] = {
        "methods": [
            {
                "id": "m1",
                "type": "shipping",
                "line_item_ids": ["li_1"],
                "groups": [{"id": "g1", "line_item_ids": ["li_1"]}],
            }
        ]
    }
    async with edge_merchant(connector_keys) as merchant:
        merchant.edit_profile = _release_2026_01_11(merchant)
        merchant.signature = "detached_jws"
        merchant.reply = Reply(body=canonical_json(current))
        async with connector_for(merchant.url, connector_keys, default_currency="USD") as connector:
            update = {
                "line_items": [{"id": "li_1", "item": {"id": "item_1"}, "quantity": 2}],
                "fulfillment": {"methods": [{"type": "shipping", "groups": [{"selected_option_id": "std"}]}]},
            }
            await _call(connector, RestOperation.UPDATE, body=update, resource_id="chk_1")
    read, put = merchant.received[-2:]
    assert (read.method, read.path, put.method) == ("GET", "/ucp/v1/checkout-sessions/chk_1", "PUT")
    sent = json.loads(put.body)
    method = sent["fulfillment"]["methods"][0]
    assert (sent["id"], method["id"], method["line_item_ids"], method["groups"][0]["id"]) == (
        "chk_1",
        "m1",
        ["li_1"],
        "g1",
    )
    assert sent["currency"] == "USD" and method["type"] == "shipping"
