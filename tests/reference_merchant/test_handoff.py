"""The buyer hand-off page at continue_url, over plain HTTP: what it shows and what it refuses.

The browser drives it in test_handoff_browser.py; here each guard is checked on its own: the token,
the CSRF cookie + form value, the Origin, escaping, the redirect target, and that a post changes only
its own checkout. Covers CHK-09, CHK-29 (continue_url serves the escalation), CMP-05 (3-D Secure, then
the retried completion proceeds).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from contracts.ucp import CheckoutStatus
from reference_merchant.catalog import CatalogItem
from tests.reference_merchant.conftest import MerchantUnderTest, StartMerchant
from tests.reference_merchant.harness import payment_body, ready_body

REVIEW = [("tshirt_red", 30)]  # above the review threshold: requires_buyer_review


async def _escalated(shop: MerchantUnderTest, items: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    checkout = (await shop.client.create(ready_body(items or REVIEW))).json
    assert checkout["status"] == CheckoutStatus.REQUIRES_ESCALATION, checkout
    return dict(checkout)


def _csrf(page: str) -> str:
    match = re.search(r"name=csrf value='([0-9a-f]{64})'", page)
    assert match, page
    return match.group(1)


async def _open(browser: httpx.AsyncClient, url: str) -> str:
    response = await browser.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def test_the_page_shows_the_checkout_with_strict_headers(shop: MerchantUnderTest) -> None:
    """Items, totals and the escalation; no script allowed, no referrer, no caching, no framing."""
    checkout = await _escalated(shop)
    async with httpx.AsyncClient() as browser:
        response = await browser.get(checkout["continue_url"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Red T-Shirt" in page and "Confirm order" in page and "data-status='requires_escalation'" in page
    total = next(entry["amount"] for entry in checkout["totals"] if entry["type"] == "total")
    assert f"{total // 100}.{total % 100:02d} USD" in page
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "form-action 'self'" in csp
    assert response.headers["referrer-policy"] == "same-origin" and response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY" and "signature" not in response.headers
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and f"path=/checkout/{checkout['id']}" in cookie


async def test_a_wrong_token_and_an_unknown_checkout_look_the_same(shop: MerchantUnderTest) -> None:
    """No oracle for checkout ids: both are the same 404 page."""
    checkout = await _escalated(shop)
    async with httpx.AsyncClient() as browser:
        wrong = await browser.get(f"{shop.url}/checkout/{checkout['id']}?token=guess")
        unknown = await browser.get(f"{shop.url}/checkout/chk_missing?token=guess")
        none = await browser.get(f"{shop.url}/checkout/{checkout['id']}")
    assert wrong.status_code == unknown.status_code == none.status_code == 404

    def without_nonce(page: str) -> str:
        return re.sub(r"nonce='[^']*'", "", page)

    assert without_nonce(wrong.text) == without_nonce(unknown.text) and "Red T-Shirt" not in wrong.text


async def test_confirm_needs_cookie_form_token_and_our_origin(shop: MerchantUnderTest) -> None:
    """CSRF: without the cookie, with a forged value or from another origin the post changes nothing."""
    checkout = await _escalated(shop)
    token = checkout["continue_url"].split("token=")[1]
    action = f"{shop.url}/checkout/{checkout['id']}/confirm"
    async with httpx.AsyncClient() as browser:
        csrf = _csrf(await _open(browser, checkout["continue_url"]))
        async with httpx.AsyncClient() as stranger:  # no cookie
            assert (await stranger.post(action, data={"token": token, "csrf": csrf})).status_code == 403
        forged = await browser.post(action, data={"token": token, "csrf": "0" * 64})
        foreign = await browser.post(
            action, data={"token": token, "csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == foreign.status_code == 403
        assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.REQUIRES_ESCALATION
        accepted = await browser.post(action, data={"token": token, "csrf": csrf}, headers={"Origin": shop.url})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/checkout/{checkout['id']}?token={token}&notice=confirmed"
    assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.READY_FOR_COMPLETE
    assert (await shop.client.get(checkout["id"])).json["status"] == CheckoutStatus.READY_FOR_COMPLETE


async def test_a_post_changes_only_its_own_checkout(shop: MerchantUnderTest) -> None:
    """One checkout's token and form cannot act on another checkout."""
    first, second = await _escalated(shop), await _escalated(shop)
    token = first["continue_url"].split("token=")[1]
    async with httpx.AsyncClient() as browser:
        csrf = _csrf(await _open(browser, first["continue_url"]))
        other = await browser.post(f"{shop.url}/checkout/{second['id']}/confirm", data={"token": token, "csrf": csrf})
        assert other.status_code == 403
        own = await browser.post(f"{shop.url}/checkout/{first['id']}/confirm", data={"token": token, "csrf": csrf})
        assert own.status_code == 303
    assert (await shop.merchant.checkout_state(first["id"])).status is CheckoutStatus.READY_FOR_COMPLETE
    assert (await shop.merchant.checkout_state(second["id"])).status is CheckoutStatus.REQUIRES_ESCALATION


async def test_three_d_secure_challenge_then_the_retried_completion(shop: MerchantUnderTest) -> None:
    """overview.md Scenario B: a wrong code keeps the escalation; the right one -> ready; complete again proceeds."""
    checkout = (await shop.client.create(ready_body())).json
    challenged = (await shop.client.complete(checkout["id"], payment_body("3ds_card"))).json
    assert challenged["status"] == CheckoutStatus.REQUIRES_ESCALATION
    token = challenged["continue_url"].split("token=")[1]
    action = f"{shop.url}/checkout/{checkout['id']}/3ds"
    async with httpx.AsyncClient() as browser:
        page = await _open(browser, challenged["continue_url"])
        assert "Verify your payment" in page and "Confirm order" not in page
        wrong = await browser.post(action, data={"token": token, "csrf": _csrf(page), "code": "000000"})
        assert wrong.headers["location"].endswith("notice=challenge_failed")
        assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.REQUIRES_ESCALATION
        right = await browser.post(action, data={"token": token, "csrf": _csrf(page), "code": "123456"})
        assert right.headers["location"].endswith("notice=verified")
    assert (await shop.merchant.checkout_state(checkout["id"])).status is CheckoutStatus.READY_FOR_COMPLETE
    retried = await shop.client.complete(checkout["id"], payment_body("3ds_card"))
    assert retried.json["status"] == CheckoutStatus.COMPLETED


async def test_output_is_escaped(start_merchant: StartMerchant) -> None:
    """A catalog title with markup is shown as text, never as markup."""
    evil = CatalogItem(id="evil", title="<script>alert(1)</script>'\"&", price=60_000, physical=False)
    shop = await start_merchant(items=[evil])
    checkout = await _escalated(shop, [("evil", 1)])
    async with httpx.AsyncClient() as browser:
        page = await _open(browser, checkout["continue_url"])
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&#x27;&quot;&amp;" in page
