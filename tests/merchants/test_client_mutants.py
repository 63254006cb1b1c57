"""What ``MerchantClient`` says about a call, found missing by mutation testing (issue 11 item 7).

mutmut 3 over ``merchants/client.py`` left these alive: the ``merchant.call``
log line's fields (the request id that correlates it with the merchant's own
logs), the message a transport failure carries, which answers to a create count
as a created checkout (``_checkout_id``, the 2xx window), and how each outcome
of the orphan cancel is reported. Real HTTP on loopback against the edge
merchant, which records what the connector really sent.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from contracts import ErrorCode, KeyStore, canonical_json
from contracts.ucp import RestOperation
from core.outbound_http import MAX_RESPONSE_BYTES
from merchants.errors import MerchantCallError
from tests.fixtures.bodies import checkout_document
from tests.fixtures.connector_stack import MERCHANT
from tests.fixtures.http import free_port
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Connector, Reply, connector_for, edge_merchant
from tests.merchants.releases.documents import as_2026_01_11

EMAIL = "jane@example.com"
CREATE = {"line_items": [{"item": {"id": "item_1"}, "quantity": 1}], "buyer": {"email": EMAIL}}


def as_2026_01_11_profile(document: dict[str, Any]) -> None:
    translated = as_2026_01_11(dict(document))
    document.clear()
    document.update(translated)


def _events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def _check_duration(entry: dict[str, Any]) -> None:
    duration = entry["duration_ms"]
    assert isinstance(duration, float) and 0 < duration < 60_000 and round(duration, 2) == duration


async def _create(connector: Connector, key: str | None = None) -> MerchantCallError:
    with pytest.raises(MerchantCallError) as caught:
        await connector.client.call(
            MERCHANT, RestOperation.CREATE, body=CREATE, idempotency_key=key or str(uuid.uuid4())
        )
    return caught.value


async def test_each_call_is_logged_with_its_request_id_and_never_its_headers_or_body(edge: EdgeSetup) -> None:
    """Invariant 6 (no secrets in logs) and IDM-01: the call line names operation, merchant, URL, release,
    status, duration and the Request-Id the merchant saw, and nothing that was sent; the key and the JSON
    media type go out as given."""
    key = str(uuid.uuid4())
    with capture_logs() as logs:
        await edge.connector.client.call(MERCHANT, RestOperation.CREATE, body=CREATE, idempotency_key=key)
    sent = edge.merchant.received[-1]
    assert sent.headers["idempotency-key"] == key
    assert sent.headers["accept"] == sent.headers["content-type"] == "application/json"
    (line,) = _events(logs, "merchant.call")
    assert line["log_level"] == "info"
    assert {name: line[name] for name in ("operation", "merchant_id", "url", "release", "status")} == {
        "operation": "create_checkout",
        "merchant_id": MERCHANT,
        "url": f"{edge.merchant.url}/ucp/v1/checkout-sessions",
        "release": "2026-04-08",
        "status": 200,
    }
    assert line["merchant_request_id"] == sent.headers["request-id"]
    _check_duration(line)
    logged = repr(logs)
    assert key not in logged and EMAIL not in logged and sent.headers["signature"] not in logged


async def test_a_timeout_is_retryable_and_names_the_timeout(edge: EdgeSetup) -> None:
    """TRN-10 / IDM-12: a timed-out call may be retried; the failure and its log line name what timed out."""
    edge.merchant.reply = Reply(delay=0.5)
    timeout = httpx.Timeout(connect=2.0, read=0.1, write=2.0, pool=2.0)
    async with connector_for(edge.merchant.url, edge.connector.keys, http_timeout=timeout) as hasty:
        with capture_logs() as logs, pytest.raises(MerchantCallError) as caught:
            await hasty.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    error = caught.value
    assert (error.code, error.retryable, error.content) == (
        ErrorCode.MERCHANT_TIMEOUT,
        True,
        "merchant timed out (ReadTimeout)",
    )
    (line,) = _events(logs, "merchant.call_failed")
    assert (line["log_level"], line["error"], line["operation"]) == ("warning", "ReadTimeout", "get_checkout")
    _check_duration(line)


async def test_a_refused_connection_is_retryable_and_named(edge: EdgeSetup) -> None:
    """TRN-10: a connection that fails is retried; the failure names the transport error, not a status."""
    elsewhere = f"http://127.0.0.1:{free_port()}"
    edge.merchant.endpoint = f"{elsewhere}/ucp/v1"
    async with connector_for(edge.merchant.url, edge.connector.keys, allowed_origins=[elsewhere]) as connector:
        with capture_logs() as logs, pytest.raises(MerchantCallError) as caught:
            await connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    error = caught.value
    assert (error.code, error.retryable, error.content) == (
        ErrorCode.MERCHANT_UNAVAILABLE,
        True,
        "merchant connection failed (ConnectError)",
    )
    (line,) = _events(logs, "merchant.call_failed")
    assert (line["error"], line["merchant_id"]) == ("ConnectError", MERCHANT)


async def test_an_oversized_answer_is_final_and_says_the_limit(edge: EdgeSetup) -> None:
    """Invariant 8: an answer over MAX_RESPONSE_BYTES is refused for good (``retryable`` is False, not unset)."""
    edge.merchant.reply = Reply(body=b" " * (MAX_RESPONSE_BYTES + 1), signed=False)
    with pytest.raises(MerchantCallError) as caught:
        await edge.connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    error = caught.value
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and error.retryable is False
    assert error.content.endswith(f"exceeds {MAX_RESPONSE_BYTES} bytes")


async def test_a_field_the_release_cannot_carry_is_final_and_nothing_is_sent(connector_keys: KeyStore) -> None:
    """Issue 12 item 9: a create 2026-01-11 cannot carry (no currency, none configured) is refused before any
    request, for good, naming the field; it is never sent with the field dropped."""
    async with edge_merchant(connector_keys) as merchant:
        merchant.edit_profile = as_2026_01_11_profile
        async with connector_for(merchant.url, connector_keys) as connector:
            error = await _create(connector)
    assert (error.code, error.retryable, error.pointer) == (
        ErrorCode.REQUEST_UNTRANSLATABLE,
        False,
        "/context/currency",
    )
    assert merchant.received == []


def _answer_with_id(value: object) -> bytes:
    document = checkout_document()
    document["id"] = value
    return canonical_json(document)


@pytest.mark.parametrize(
    ("body", "orphan"),
    [
        (_answer_with_id("c"), "c"),
        (_answer_with_id("c" * 256), "c" * 256),
        (_answer_with_id("c" * 257), None),
        (_answer_with_id(""), None),
        (_answer_with_id(123), None),
        (b"[]", None),
        (b"not json", None),
    ],
    ids=["id-1", "id-256", "id-257", "id-empty", "id-number", "not-an-object", "not-json"],
)
async def test_only_a_plausible_checkout_id_in_a_refused_create_is_canceled(
    edge: EdgeSetup, body: bytes, orphan: str | None
) -> None:
    """Issue 15 "No orphans": the id to cancel is read from the refused answer only when it is a string of
    1..256 characters in a JSON object; anything else sends no cancel (the URL would be the merchant's guess)."""
    edge.merchant.replies = [Reply(status=201, body=body, tamper=True)]
    error = await _create(edge.connector)
    assert error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID
    cancels = [sent for sent in edge.merchant.received if sent.path.endswith("/cancel")]
    if orphan is None:
        assert "orphan_checkout_id" not in error.detail and cancels == []
    else:
        assert error.detail["orphan_checkout_id"] == orphan and error.detail["orphan_cancel"] == "canceled"
        assert [sent.path for sent in cancels] == [f"/ucp/v1/checkout-sessions/{orphan}/cancel"]


@pytest.mark.parametrize(("status", "canceled"), [(200, True), (299, True), (300, False), (422, False)])
async def test_any_2xx_to_a_create_is_a_created_checkout_and_nothing_else_is(
    edge: EdgeSetup, status: int, canceled: bool
) -> None:
    """Issue 15, OVR-38: a refused 200 created a checkout as much as a 201 did; a 3xx (never followed) or a 4xx
    created none, whatever id its body names."""
    edge.merchant.replies = [Reply(status=status, tamper=True)]
    error = await _create(edge.connector)
    cancels = [sent for sent in edge.merchant.received if sent.path.endswith("/cancel")]
    assert len(cancels) == (1 if canceled else 0)
    assert ("orphan_cancel" in error.detail) is canceled


@pytest.mark.parametrize(
    ("cancel_reply", "outcome", "level"),
    [
        (Reply(), "canceled", "info"),
        (Reply(tamper=True), "canceled", "warning"),  # a 2xx: canceled, though its answer is not ours to use
        (Reply(body=b"{}"), "canceled", "warning"),  # a signed 2xx that is no checkout
        (Reply(status=409, body=b"", signed=False), f"refused:{ErrorCode.MERCHANT_REQUEST_REJECTED.value}", "warning"),
    ],
    ids=["verified", "bad-signature", "not-a-checkout", "refused"],
)
async def test_each_outcome_of_the_orphan_cancel_is_said_and_logged(
    edge: EdgeSetup, cancel_reply: Reply, outcome: str, level: str
) -> None:
    """Issue 15 "No orphans", IDM-02, IDM-12: the cancel is signed, carries ``{}`` and a UUID key derived from the
    create's (the same on every replay); its outcome is in the failure and in one ``merchant.orphan_cancel``
    line; only a cancel that cannot get through makes the create retryable."""
    key = str(uuid.uuid4())
    edge.merchant.replies = [Reply(status=201, tamper=True), cancel_reply]
    with capture_logs() as logs:
        error = await _create(edge.connector, key)
    assert error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID and error.retryable is False
    assert (error.detail["orphan_checkout_id"], error.detail["orphan_cancel"]) == ("chk_1", outcome)
    _, cancel = edge.merchant.received
    assert cancel.verified is not None and cancel.body == b"{}"
    assert str(uuid.UUID(cancel.headers["idempotency-key"])) == cancel.headers["idempotency-key"] != key
    (line,) = _events(logs, "merchant.orphan_cancel")
    assert (line["log_level"], line["merchant_id"], line["checkout_id"], line["outcome"]) == (
        level,
        MERCHANT,
        "chk_1",
        outcome,
    )
