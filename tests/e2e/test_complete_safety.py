"""Safety checks before complete, through the API on the Temporal dev server against the reference merchant.

Each refusal has its frozen code and is audited in the platform's chain
(DESIGN invariant 7); each would have reached the merchant on the old code:
totals that do not add up were completed (CMP-06), an instrument brand the
checkout does not offer was charged (PAY-04), and a raw card credential was
forwarded (types/card_credential.json: MUST NOT be used for checkout; PAY-06).
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import MERCHANT, Connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.waiting import eventually

BASE = f"/merchants/{MERCHANT}/checkout-sessions"


async def _ready_session(connector: Connector) -> str:
    created = await connector.call(connector.alpha, "POST", BASE, ready_body())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "ready_for_complete", created.text
    return str(created.json()["id"])


async def _refusals(connector: Connector, *expected: tuple[str, str]) -> list[tuple[str | None, Any]]:
    """The platform's refusal trail, once it holds ``expected`` (refusals reach the store from a spool)."""

    async def trail(_: object = None) -> list[tuple[str | None, Any]]:
        events = (await connector.repository.list_session_events("api:alpha", "alpha")).items
        return [(event.error_code, event.payload.get("session_id")) for event in events]

    return await eventually(trail, lambda rows: all(row in rows for row in expected))


async def _status(connector: Connector, session_id: str) -> str:
    return str((await connector.call(connector.alpha, "GET", f"{BASE}/{session_id}")).json()["status"])


def _with_instrument(**changes: Any) -> dict[str, Any]:
    body = payment_body()
    instrument = body["payment"]["instruments"][0]
    for key, value in changes.items():
        instrument[key] = value
    return body


async def test_totals_that_do_not_add_up_are_never_completed(connector: Connector) -> None:
    """CMP-06, CHK-44, CHK-38, CHK-40: entries that do not sum to the total -> 422 totals_inconsistent, audited,
    nothing charged; the totals themselves reach the platform exactly as the merchant rendered them."""
    connector.merchant.faults.totals_skew = -1000
    session_id = await _ready_session(connector)
    presented = (await connector.call(connector.alpha, "GET", f"{BASE}/{session_id}")).json()
    parts = sum(entry["amount"] for entry in presented["totals"] if entry["type"] != "total")
    total = next(entry["amount"] for entry in presented["totals"] if entry["type"] == "total")
    assert parts - total == 1000  # the merchant's totals are forwarded untouched (CHK-44)
    merchant_checkout_id = presented["continue_url"].split("/checkout/")[1].split("?")[0]
    state = await connector.merchant.checkout_state(merchant_checkout_id)
    # CHK-38, CHK-40: every entry, in the merchant's order, with its display_text, as the merchant rendered it.
    assert presented["totals"] == connector.merchant.service.render(state).body["totals"]

    refused = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "totals_inconsistent" and refused.json()["pointer"] == "/totals"
    assert refused.json()["detail"] == {"reason": "sum_mismatch", "sum": parts, "total": total}
    assert await _status(connector, session_id) == "ready_for_complete"
    assert ("totals_inconsistent", session_id) in await _refusals(connector, ("totals_inconsistent", session_id))

    connector.merchant.faults.totals_skew = 0
    refreshed = await connector.call(connector.alpha, "PUT", f"{BASE}/{session_id}", ready_body())
    assert refreshed.json()["status"] == "ready_for_complete", refreshed.text
    completed = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text


async def test_instruments_the_checkout_does_not_offer_are_refused(connector: Connector) -> None:
    """PAY-04: the checkout's payment_handlers / available_instruments are authoritative (handler, type, brand)."""
    session_id = await _ready_session(connector)
    cases = [
        (_with_instrument(handler_id="someone_elses_handler"), "/payment/instruments/0/handler_id", "handler"),
        (_with_instrument(type="wallet"), "/payment/instruments/0/type", "type"),
        (_with_instrument(display={"brand": "amex", "last_digits": "0005"}), "/payment/instruments/0/display", "brand"),
    ]
    for body, pointer, reason in cases:
        refused = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", body)
        assert refused.status_code == 422, (reason, refused.text)
        assert refused.json()["code"] == "payment_instrument_not_offered", refused.text
        assert refused.json()["pointer"] == pointer and refused.json()["detail"]["reason"] == reason
    assert await _status(connector, session_id) == "ready_for_complete"
    expected = ("payment_instrument_not_offered", session_id)
    rows = await eventually(
        lambda _=None: _refusals(connector), lambda items: sum(row == expected for row in items) >= 3
    )
    assert [code for code, sid in rows if sid == session_id] == ["payment_instrument_not_offered"] * 3

    completed = await connector.call(connector.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
    assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text


async def test_raw_card_credentials_never_leave_the_api(connector: Connector) -> None:
    """card_credential.json MUST NOT be used for checkout (PAY-06): a PAN/CVC is refused before any workflow."""
    session_id = await _ready_session(connector)
    raw_card = {"type": "card", "card_number_type": "fpan", "number": "4242424242424242", "cvc": "123"}
    refused = await connector.call(
        connector.alpha, "POST", f"{BASE}/{session_id}/complete", _with_instrument(credential=raw_card)
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "payment_credential_forbidden"
    assert refused.json()["pointer"] == "/payment/instruments/0/credential"
    assert "4242424242424242" not in refused.text
    # Also when the type is not "card" but the members are a card's; and on create/update, not only complete.
    disguised = _with_instrument(credential={"type": "token", "token": "tok", "number": "4242424242424242"})
    created = await connector.call(connector.alpha, "POST", BASE, ready_body(payment=disguised["payment"]))
    assert created.status_code == 400 and created.json()["code"] == "payment_credential_forbidden", created.text
    assert await _status(connector, session_id) == "ready_for_complete"
    refusals = await _refusals(connector, ("payment_credential_forbidden", session_id))
    assert ("payment_credential_forbidden", session_id) in refusals
    events = (await connector.repository.list_session_events("api:alpha", "alpha")).items
    assert all("4242424242424242" not in str(event.payload) for event in events)
