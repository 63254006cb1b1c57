"""A vendor extension's members per negotiation, through the API on the Temporal dev server (issue 11.3).

The reference merchant's loyalty mode offers ``com.example.loyalty`` (a vendor
extension of dev.ucp.shopping.checkout, reference_merchant.loyalty); the
connector's operator declares it for that merchant with the member it adds
(``MerchantSettings.vendor_extensions``, core.vendor_extensions), so the
connector's per-merchant platform profile declares it too and the two
profiles intersect on it. The old code refused ``loyalty`` as an unknown
member whatever the merchant offered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import MERCHANT, Connector, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
LOYALTY = "com.example.loyalty"
DECLARATION = {
    LOYALTY: {
        "version": "2026-04-08",
        "spec": "https://example.com/ucp/specification/loyalty",
        "schema": "https://example.com/ucp/schemas/loyalty.json",
        "members": ["loyalty"],
    }
}


@pytest.fixture
async def loyal(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Connector]:
    async with running_connector(
        dev_server_env, tmp_path, vendor_extensions=DECLARATION, loyalty_extension=True
    ) as running:
        yield running


def _merchant_checkout_id(created: Any) -> str:
    return str(created.json()["continue_url"].split("/checkout/")[1].split("?")[0])


async def test_a_negotiated_vendor_extension_member_passes_on_create_update_and_complete(loyal: Connector) -> None:
    """OVR-23/24 (the intersection decides; a vendor extension is negotiated like an official one), OVR-02/04/07
    (the vendor's reverse-domain name on its own authority), OVR-51 (the merchant's extra member reaches the
    platform): ``loyalty`` reaches the merchant as sent on create, update and complete, and the merchant's
    ``loyalty`` answer comes back on each; the connector's profile for this merchant declares the extension."""
    ours = (await loyal.http.get(f"{loyal.url}/.well-known/ucp", params={"merchant": MERCHANT})).json()
    assert ours["ucp"]["capabilities"][LOYALTY][0]["extends"] == "dev.ucp.shopping.checkout"
    created = await loyal.call(loyal.alpha, "POST", BASE, ready_body(loyalty={"member_id": "lm_1"}))
    assert created.status_code == 201, created.text
    total = next(entry["amount"] for entry in created.json()["totals"] if entry["type"] == "total")
    assert created.json()["loyalty"] == {"member_id": "lm_1", "points_earned": total // 100}
    assert LOYALTY in {entry for entry in created.json()["ucp"]["capabilities"]}
    session_id, merchant_id = created.json()["id"], _merchant_checkout_id(created)
    assert (await loyal.merchant.checkout_state(merchant_id)).loyalty_member_id == "lm_1"
    # The worker's discovery declares the same profile as the API's validation, so the negotiation the
    # session records (its audit trail) names the extension too.
    events = (await loyal.call(loyal.alpha, "GET", f"/checkout-sessions/{session_id}/events?limit=200")).json()
    negotiated = next(event for event in events["events"] if event["action"] == "merchant_negotiated")
    assert LOYALTY in negotiated["payload"]["capabilities"], negotiated

    updated = await loyal.call(loyal.alpha, "PUT", f"{BASE}/{session_id}", ready_body(loyalty={"member_id": "lm_2"}))
    assert updated.status_code == 200, updated.text
    assert updated.json()["loyalty"]["member_id"] == "lm_2"
    assert (await loyal.merchant.checkout_state(merchant_id)).loyalty_member_id == "lm_2"

    body = {**payment_body(), "loyalty": {"member_id": "lm_3"}}
    completed = await loyal.call(loyal.alpha, "POST", f"{BASE}/{session_id}/complete", body)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed" and completed.json()["loyalty"]["member_id"] == "lm_3"
    assert (await loyal.merchant.checkout_state(merchant_id)).loyalty_member_id == "lm_3"
    shown = await loyal.call(loyal.alpha, "GET", f"{BASE}/{session_id}")
    assert shown.json()["loyalty"]["member_id"] == "lm_3", shown.text


async def test_a_vendor_member_the_merchant_did_not_negotiate_is_refused_with_a_pointer(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """OVR-23/24: the operator declares com.example.loyalty but this merchant does not offer it, so ``loyalty``
    is 400 extension_not_negotiated at /loyalty, naming the extension, and nothing reaches the merchant; the
    same body without the member is served."""
    async with running_connector(dev_server_env, tmp_path, vendor_extensions=DECLARATION) as plain:
        refused = await plain.call(plain.alpha, "POST", BASE, ready_body(loyalty={"member_id": "lm_1"}))
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "extension_not_negotiated" and refused.json()["pointer"] == "/loyalty"
        assert refused.json()["detail"] == {"extension": LOYALTY}
        accepted = await plain.call(plain.alpha, "POST", BASE, ready_body())
        assert accepted.status_code == 201, accepted.text
        assert "loyalty" not in accepted.json()
