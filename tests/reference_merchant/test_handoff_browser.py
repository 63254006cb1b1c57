"""The hand-off page in a real browser: Debian's Chromium, headless, driven by Playwright.

The buyer clicks through both escalations against the merchant on loopback — "Confirm order" for the
buyer review, the simulated 3-D Secure challenge for a ``3ds`` card — and the merchant's state moves on
(``ready_for_complete``, then the retried completion proceeds). Chromium is the machine's package
(``./ucp test`` installs it when apt is available), never a Playwright download; the tests skip, saying
so, only where no Chromium can be found. Covers CHK-09, CHK-29, CMP-05.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from contracts.ucp import CheckoutStatus
from tests.fixtures.browser import NEEDS_CHROMIUM, chromium_page
from tests.reference_merchant.conftest import MerchantUnderTest
from tests.reference_merchant.harness import payment_body, ready_body

pytestmark = NEEDS_CHROMIUM


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh headless Chromium profile (its own user-data dir), one tab."""
    async with chromium_page(tmp_path / "profile") as opened:
        yield opened


async def test_the_buyer_confirms_a_review_in_the_browser(shop: MerchantUnderTest, page: Any) -> None:
    """Buyer review: the page shows the order; "Confirm order" makes the checkout ready_for_complete."""
    checkout = (await shop.client.create(ready_body([("tshirt_red", 30)]))).json
    assert checkout["status"] == CheckoutStatus.REQUIRES_ESCALATION
    await page.goto(checkout["continue_url"])
    assert await page.title() == "Your checkout"
    assert await page.locator("#status").get_attribute("data-status") == "requires_escalation"
    assert "Red T-Shirt" in await page.locator("table").inner_text()
    await page.locator("#confirm").click()
    await page.wait_for_url("**notice=confirmed")
    assert await page.locator("#status").get_attribute("data-status") == "ready_for_complete"
    assert await page.locator("#confirm").count() == 0
    assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.READY_FOR_COMPLETE
    completed = await shop.client.complete(checkout["id"], payment_body())
    assert completed.json["status"] == CheckoutStatus.COMPLETED


async def test_the_buyer_passes_three_d_secure_in_the_browser(shop: MerchantUnderTest, page: Any) -> None:
    """3-D Secure: a wrong code is refused on the page; the right one lets the retried completion proceed."""
    checkout = (await shop.client.create(ready_body())).json
    challenged = (await shop.client.complete(checkout["id"], payment_body("3ds_card"))).json
    assert challenged["status"] == CheckoutStatus.REQUIRES_ESCALATION
    await page.goto(challenged["continue_url"])
    await page.get_by_label("One-time code").fill("000000")
    await page.locator("#verify").click()
    await page.wait_for_url("**notice=challenge_failed")
    assert "not correct" in await page.locator("[role=status]").inner_text()
    await page.get_by_label("One-time code").fill("123456")
    await page.locator("#verify").click()
    await page.wait_for_url("**notice=verified")
    assert await page.locator("#status").get_attribute("data-status") == "ready_for_complete"
    assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.READY_FOR_COMPLETE
    retried = await shop.client.complete(checkout["id"], payment_body("3ds_card"))
    assert retried.json["status"] == CheckoutStatus.COMPLETED
