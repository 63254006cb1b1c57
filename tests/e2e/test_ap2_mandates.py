"""AP2 Mandates end to end: the connector's API on the Temporal dev server against the reference merchant's AP2 mode.

Both ends opt in (Settings.ap2_mandates declares dev.ucp.shopping.ap2_mandate in the connector's profile;
MerchantConfig.ap2_mandates offers it in the merchant's), so the capability is in the intersection and the
session is locked into AP2 (ap2-mandates.md "Activation and Session Locking"): the merchant signs every checkout
(``ap2.merchant_authorization``), the connector verifies it before the platform sees the checkout, and
complete carries the platform's ``ap2.checkout_mandate`` to the merchant, which refuses a complete without it.
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
AP2 = "dev.ucp.shopping.ap2_mandate"
MANDATE = "eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK3NkLWp3dCJ9.eyJjaGVja291dCI6e319.c2lnbmF0dXJl~a2I"


@pytest.fixture
async def ap2(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Connector]:
    async with running_connector(dev_server_env, tmp_path, ap2_mandates=True) as running:
        yield running


def _merchant_checkout_id(created: Any) -> str:
    return str(created.json()["continue_url"].split("/checkout/")[1].split("?")[0])


async def test_a_platform_with_ap2_completes_with_its_mandate(ap2: Connector) -> None:
    """CHK-34 (complete without the buyer's trusted UI only when AP2 Mandates is negotiated), OVR-23/24 (the
    intersection decides): the merchant offers AP2 and signs the checkout, the connector verifies the signature
    (ap2-mandates.md "The platform MUST verify the business's signature") and lets the mandate through; the
    complete is 200 completed and the merchant holds the very mandate the platform sent (the old code refused
    ``ap2`` with 400 extension_not_negotiated, the merchant had no AP2 mode)."""
    profile = ap2.merchant.profile()["ucp"]["capabilities"]
    assert profile[AP2][0]["extends"] == "dev.ucp.shopping.checkout"
    created = await ap2.call(ap2.alpha, "POST", BASE, ready_body())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "ready_for_complete"
    body = {**payment_body(), "ap2": {"checkout_mandate": MANDATE}}
    completed = await ap2.call(ap2.alpha, "POST", f"{BASE}/{created.json()['id']}/complete", body)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed" and completed.json()["order"]["id"]
    state = await ap2.merchant.checkout_state(_merchant_checkout_id(created))
    assert state.ap2_checkout_mandate == MANDATE and state.order_id == completed.json()["order"]["id"]


async def test_a_forged_merchant_authorization_never_reaches_the_platform(ap2: Connector) -> None:
    """ap2-mandates.md "Activation and Session Locking" (the platform MUST verify the business's signature before
    presenting the checkout) and "Error Codes" (merchant_authorization_invalid): a checkout signed with a key
    the merchant never published (same ``kid``) is refused with the frozen 502 merchant_response_invalid at
    /ap2/merchant_authorization, and nothing of it is shown."""
    ap2.merchant.faults.forge_ap2_authorization = True
    forged = await ap2.call(ap2.alpha, "POST", BASE, ready_body())
    assert forged.status_code == 502, forged.text
    assert forged.json()["code"] == "merchant_response_invalid", forged.text
    assert forged.json()["pointer"] == "/ap2/merchant_authorization", forged.text
    assert "line_items" not in forged.json()
    ap2.merchant.faults.forge_ap2_authorization = False
    honest = await ap2.call(ap2.alpha, "POST", BASE, ready_body())
    assert honest.status_code == 201, honest.text


async def test_complete_without_a_mandate_is_refused_by_the_ap2_merchant(ap2: Connector) -> None:
    """ap2-mandates.md "Business Verification" (reject with mandate_required if ap2.checkout_mandate is missing;
    the business MUST NOT accept a complete that lacks it), CHK-34: the merchant's 400 mandate_required reaches
    the platform as the frozen 422 merchant_input_rejected with the merchant's code and pointer; no order is
    placed and the session can still be completed with the mandate."""
    created = await ap2.call(ap2.alpha, "POST", BASE, ready_body())
    assert created.status_code == 201, created.text
    path = f"{BASE}/{created.json()['id']}/complete"
    refused = await ap2.call(ap2.alpha, "POST", path, payment_body())
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "merchant_input_rejected", refused.text
    assert refused.json()["detail"]["merchant_code"] == "mandate_required", refused.text
    assert refused.json()["pointer"] == "/ap2/checkout_mandate", refused.text
    assert await ap2.merchant.count_orders() == 0
    completed = await ap2.call(ap2.alpha, "POST", path, {**payment_body(), "ap2": {"checkout_mandate": MANDATE}})
    assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text
