"""Route logic with the gateway scripted (``app.dependency_overrides``): what a route hands the gateway,
and how each gateway answer becomes an HTTP response — status, ``Location``, error bodies, ``Retry-After``.

The requests still go through the real front door (signatures, limits,
validation, response signing, the rejection audit) on loopback; only the
Temporal side is scripted. The gateway's own logic runs against a real
Temporal in tests/workflows and tests/e2e. Covers TRN-05, TRN-08, TRN-09,
TRN-10, TRN-15, IDM-05, IDM-07, ORD-13 and DESIGN invariants 2, 3, 7.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from api.gateway import SessionContext
from contracts import ErrorCode, UcpError, canonical_json, checkout_session_id, content_digest
from storage.sessions import SessionUpsert
from tests.api.conftest import MERCHANT, OTHER_MERCHANT, ApiUnderTest
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.bodies import payment_body, ready_body
from tests.fixtures.independent_signer import json_bytes, new_key
from workflows.types import (
    Operation,
    OperationRequest,
    OperationResult,
    OrderRead,
    OrderReadResult,
    PolicySnapshot,
    SessionView,
)

CREATE_BODY = {"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}]}
SESSION = "cs_" + "b" * 26
CHECKOUTS = f"/merchants/{MERCHANT}/checkout-sessions"
ERROR_BODY_FIELDS = {"code", "content", "pointer", "detail", "continue_url"}


def _result(operation: Operation, status: int, body: dict[str, Any]) -> OperationResult:
    return OperationResult(operation=operation, http_status=status, body=body, request_digest="sha-256=:unused:")


def _view(merchant_id: str = MERCHANT, **fields: Any) -> SessionView:
    values: dict[str, Any] = {
        "platform_id": "alpha",
        "session_id": SESSION,
        "merchant_id": merchant_id,
        "merchant_checkout_id": "merchant-checkout-1",
        "status": "ready_for_complete",
        "checkout": {"id": SESSION, "status": "ready_for_complete"},
        "order": None,
        "status_history": [],
        "pending_actions": [],
        "created_at": dt.datetime(2026, 4, 8, tzinfo=dt.UTC),
        "closed_at": None,
    }
    return SessionView(**{**values, **fields})


def _digest(body: dict[str, Any]) -> str:
    return content_digest(canonical_json(body))


async def _mutate(
    api: ApiUnderTest, method: str, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await api.send(method, path, signer=api.alpha, body=json_bytes(body), idempotency_key=key or new_key())


async def test_create_answers_201_with_the_sessions_location(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    """TRN-05, DESIGN invariant 3: the session id is derived from platform + key; Location names it."""
    checkout = {"id": "cs_placeholder", "status": "incomplete"}
    scripted.script("create", _result(Operation.CREATE, 201, checkout))
    key = new_key()
    response = await _mutate(api, "POST", CHECKOUTS, CREATE_BODY, key)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{CHECKOUTS}/{checkout_session_id('alpha', key)}"
    assert response.json() == checkout
    api.assert_signed(response)


async def test_create_hands_the_gateway_the_platforms_context_and_the_verified_body(
    api: ApiUnderTest, scripted: ScriptedGateway
) -> None:
    """The new session's context comes from the registry (policy per merchant, webhook) and the settings."""
    scripted.script("create", _result(Operation.CREATE, 201, {"status": "incomplete"}))
    key = new_key()
    await _mutate(api, "POST", CHECKOUTS, CREATE_BODY, key)
    [(context, request)] = scripted.calls_to("create")
    assert context == SessionContext(
        platform_id="alpha",
        merchant_id=MERCHANT,
        policy=PolicySnapshot(allowed_currencies=["EUR"], max_total=9000),
        webhook_url="https://platform.example/webhooks",
        webhook_allow_insecure_loopback=False,
        merchant_call_timeout_seconds=api.settings.merchant_call_timeout_seconds,
    )
    assert request == OperationRequest(
        idempotency_key=key, merchant_id=MERCHANT, body_digest=_digest(CREATE_BODY), body=CREATE_BODY
    )
    # The per-merchant currency override applies only at its merchant; the platform-wide cap everywhere.
    await _mutate(api, "POST", f"/merchants/{OTHER_MERCHANT}/checkout-sessions", CREATE_BODY)
    assert scripted.calls_to("create")[1][0].policy == PolicySnapshot(max_total=9000)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"ucp": {"status": "error"}, "messages": [{"type": "error", "code": "out_of_stock"}]}),
        (502, {"code": "merchant_response_invalid", "content": "the merchant's answer was refused"}),
    ],
)
async def test_a_create_that_made_no_session_has_no_location(
    api: ApiUnderTest, scripted: ScriptedGateway, status: int, body: dict[str, Any]
) -> None:
    """TRN-15, TRN-08: a business outcome (200, no checkout) or a merchant failure passes through as is."""
    scripted.script("create", _result(Operation.CREATE, status, body))
    response = await _mutate(api, "POST", CHECKOUTS, CREATE_BODY)
    assert response.status_code == status and response.json() == body
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("method", "suffix", "operation", "body"),
    [
        ("PUT", "", Operation.UPDATE, ready_body()),
        ("POST", "/complete", Operation.COMPLETE, payment_body()),
        ("POST", "/cancel", Operation.CANCEL, {}),
    ],
)
async def test_operations_reach_the_gateway_as_one_keyed_request(
    api: ApiUnderTest, scripted: ScriptedGateway, method: str, suffix: str, operation: Operation, body: dict[str, Any]
) -> None:
    """IDM-05: each mutation is one workflow operation keyed by the platform's Idempotency-Key."""
    answer = {"id": SESSION, "status": "ready_for_complete"}
    scripted.script("operate", _result(operation, 200, answer))
    key = new_key()
    response = await _mutate(api, method, f"{CHECKOUTS}/{SESSION}{suffix}", body, key)
    assert response.status_code == 200 and response.json() == answer, response.text
    request = OperationRequest(idempotency_key=key, merchant_id=MERCHANT, body_digest=_digest(body), body=body)
    assert scripted.calls_to("operate") == [("alpha", SESSION, operation, request)]


async def test_an_empty_cancel_is_the_empty_document(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    """A cancel without a body is keyed on the digest of ``{}``, so its replay with ``{}`` is the same request."""
    scripted.script("operate", _result(Operation.CANCEL, 200, {"status": "canceled"}))
    response = await api.send("POST", f"{CHECKOUTS}/{SESSION}/cancel", signer=api.alpha, idempotency_key=new_key())
    assert response.status_code == 200, response.text
    [(_, _, _, request)] = scripted.calls_to("operate")
    assert request.body == {} and request.body_digest == _digest({})


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (UcpError("key reused", code=ErrorCode.IDEMPOTENCY_KEY_REUSED, detail={"operation": "update"}), 409, None),
        (UcpError("still running", code=ErrorCode.OPERATION_PENDING, retry_after=2), 202, "2"),
        (UcpError("closed", code=ErrorCode.TRANSITION_INVALID, detail={"reason": "session_closed"}), 409, None),
        (UcpError("no such checkout session", code=ErrorCode.NOT_FOUND), 404, None),
        (UcpError("down", code=ErrorCode.SERVICE_UNAVAILABLE, retry_after=2, detail={"reason": "timeout"}), 503, "2"),
        (UcpError("slow", code=ErrorCode.MERCHANT_TIMEOUT, retry_after=5), 504, "5"),
    ],
)
async def test_gateway_refusals_are_ucp_error_bodies(
    api: ApiUnderTest, scripted: ScriptedGateway, error: UcpError, status: int, retry_after: str | None
) -> None:
    """TRN-08/09/10, IDM-07: each refusal keeps its status, frozen code, detail and Retry-After, signed."""
    scripted.script("operate", error)
    response = await _mutate(api, "PUT", f"{CHECKOUTS}/{SESSION}", ready_body())
    assert response.status_code == status
    document = response.json()
    assert document["code"] == error.code.value and document["content"] == error.content
    assert document.get("detail", {}) == error.detail and set(document) <= ERROR_BODY_FIELDS
    assert response.headers.get("Retry-After") == retry_after
    api.assert_signed(response)


async def test_gateway_refusals_are_audited_in_the_platforms_chain(
    api: ApiUnderTest, scripted: ScriptedGateway
) -> None:
    """DESIGN invariant 7: a refusal that came back from the workflow is audited like one at the front door."""
    scripted.script("operate", UcpError("key reused", code=ErrorCode.IDEMPOTENCY_KEY_REUSED))
    body = ready_body()
    await _mutate(api, "PUT", f"{CHECKOUTS}/{SESSION}", body)
    await api.services.rejections.spool.drained()  # refusals reach the store through the spool
    events = (await api.repository.list_session_events("api:alpha", "alpha")).items
    assert [(event.error_code, event.payload["session_id"]) for event in events] == [
        ("idempotency_key_reused", SESSION)
    ]
    assert events[0].request_digest == content_digest(json_bytes(body))


async def test_a_platform_cannot_use_a_merchant_it_is_not_allowed(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    """Policy: a configured merchant outside the platform's allowed list is 403, before any workflow runs."""
    elsewhere = f"/merchants/{OTHER_MERCHANT}/checkout-sessions"
    for method, path in (("POST", elsewhere), ("PUT", f"{elsewhere}/{SESSION}")):
        response = await api.send(
            method,
            path,
            signer=api.beta,
            body=json_bytes(ready_body()),
            idempotency_key=new_key(),
        )
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "policy_denied"
        assert response.json()["detail"] == {"reason": "merchant_not_allowed"}
    assert scripted.calls == []


async def test_get_checkout_serves_the_workflows_view_of_the_verified_platform(
    api: ApiUnderTest, scripted: ScriptedGateway
) -> None:
    """DESIGN invariant 3: the workflow is addressed by the *verified* platform, never by a header or a path."""
    view = _view()
    scripted.script("view", view)
    for signer, platform_id in ((api.alpha, "alpha"), (api.beta, "beta")):
        response = await api.send("GET", f"{CHECKOUTS}/{SESSION}", signer=signer)
        assert response.status_code == 200 and response.json() == view.checkout
        assert scripted.calls_to("view")[-1] == (platform_id, SESSION)


async def test_get_reads_the_merchant_through_only_while_the_session_waits_on_it(
    api: ApiUnderTest, scripted: ScriptedGateway
) -> None:
    """Issue 11.1 (CHK-03): requires_escalation -> read_checkout's fresher view; refused (None) -> the Query's."""
    waiting = _view(status="requires_escalation", checkout={"id": SESSION, "status": "requires_escalation"})
    fresh = _view()
    scripted.script("view", waiting)
    scripted.script("read_checkout", fresh)
    response = await api.send("GET", f"{CHECKOUTS}/{SESSION}", signer=api.alpha)
    assert response.status_code == 200 and response.json() == fresh.checkout
    assert scripted.calls_to("read_checkout") == [("alpha", SESSION, MERCHANT)]
    scripted.script("read_checkout", None)
    response = await api.send("GET", f"{CHECKOUTS}/{SESSION}", signer=api.alpha)
    assert response.status_code == 200 and response.json() == waiting.checkout
    scripted.script("view", fresh)
    await api.send("GET", f"{CHECKOUTS}/{SESSION}", signer=api.alpha)
    assert len(scripted.calls_to("read_checkout")) == 2  # ready_for_complete: nothing happens at the merchant


@pytest.mark.parametrize("view", [_view(merchant_id=OTHER_MERCHANT), _view(checkout=None)])
async def test_get_checkout_of_another_merchant_or_without_checkout_is_not_found(
    api: ApiUnderTest, scripted: ScriptedGateway, view: SessionView
) -> None:
    """A session at another merchant is 404 (never 403: existence does not leak); so is one with no checkout."""
    scripted.script("view", view)
    response = await api.send("GET", f"{CHECKOUTS}/{SESSION}", signer=api.alpha)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def _index_order(api: ApiUnderTest, platform_id: str = "alpha", order_id: str = "ord_1") -> None:
    await api.repository.upsert_session(
        SessionUpsert(
            session_id=SESSION,
            platform_id=platform_id,
            merchant_id=MERCHANT,
            status="completed",
            merchant_checkout_id="merchant-checkout-1",
            order_id=order_id,
            occurred_at=dt.datetime.now(dt.UTC),
            version=1,
        )
    )


async def test_an_order_read_goes_through_the_sessions_workflow(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    """ORD-13, TRN-05: the merchant's answer (status and body) comes back through the workflow."""
    await _index_order(api)
    order = {"id": "ord_1", "checkout_id": "merchant-checkout-1"}
    scripted.script("read_order", OrderReadResult(http_status=200, body=order))
    response = await api.send("GET", f"/merchants/{MERCHANT}/orders/ord_1", signer=api.alpha)
    assert response.status_code == 200 and response.json() == order
    assert scripted.calls_to("read_order") == [("alpha", SESSION, OrderRead(merchant_id=MERCHANT, order_id="ord_1"))]


@pytest.mark.parametrize(
    ("view", "served"),
    [
        (_view(order={"id": "ord_1", "source": "webhook"}), {"id": "ord_1", "source": "webhook"}),
        (_view(checkout={"status": "completed", "order": {"id": "ord_1"}}), {"id": "ord_1"}),
        (_view(checkout={"status": "completed"}), None),
    ],
)
async def test_a_closed_sessions_order_is_its_last_snapshot(
    api: ApiUnderTest, scripted: ScriptedGateway, view: SessionView, served: dict[str, Any] | None
) -> None:
    """Once the workflow has closed (read_order answers None) the route serves the final view's order, or 404."""
    await _index_order(api)
    scripted.script("read_order", None)
    scripted.script("view", view)
    response = await api.send("GET", f"/merchants/{MERCHANT}/orders/ord_1", signer=api.alpha)
    if served is None:
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    else:
        assert response.status_code == 200 and response.json() == served


async def test_an_order_of_another_platform_or_unknown_is_not_found(
    api: ApiUnderTest, scripted: ScriptedGateway
) -> None:
    """Orders are scoped by the session index to the verified platform: another's order is 404, unread."""
    await _index_order(api, platform_id="beta")
    for order_id in ("ord_1", "ord_unknown"):
        response = await api.send("GET", f"/merchants/{MERCHANT}/orders/{order_id}", signer=api.alpha)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert scripted.calls == []
