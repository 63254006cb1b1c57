"""The HTML of the buyer's hand-off page: one small, accessible document, no script, no external asset.

Every value that comes from state (titles, codes, messages, ids, the token)
goes through :func:`html.escape`; the only markup is written here. Amounts
are minor units shown with two decimals and the ISO currency code (the
catalog's currencies have two; assumption for this fixture).
"""

from __future__ import annotations

from html import escape
from typing import Any, Final
from urllib.parse import quote

from reference_merchant.backoffice import THREE_DS, CheckoutView

NOTICES: Final = {
    "confirmed": "Thank you: your order is confirmed. You can return to the assistant to complete it.",
    "verified": "Your bank verified the payment. You can return to the assistant to complete it.",
    "challenge_failed": "That code is not correct. Try again.",
    "nothing_to_confirm": "Nothing is waiting for you on this checkout.",
}
STATUS_TEXT: Final = {
    "incomplete": "More information is needed",
    "requires_escalation": "Waiting for you",
    "ready_for_complete": "Ready to be placed",
    "complete_in_progress": "Payment in progress",
    "completed": "Order placed",
    "canceled": "Canceled",
}
STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem;border-bottom:1px solid #ccc}"
    "td.n,th.n{text-align:right}.notice{padding:.6rem;background:#eef6ee;border-left:4px solid #2a7a2a}"
    "form{margin:1rem 0;padding:1rem;border:1px solid #999;border-radius:.4rem}"
    "button{font-size:1rem;padding:.5rem 1rem}label{display:block;margin-bottom:.4rem}"
)


def _money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d} {escape(currency)}"


def _summary(view: CheckoutView) -> str:
    body = view.rendered.body
    currency = str(body.get("currency", ""))
    rows = "".join(
        f"<tr><td>{escape(str(line['item']['title']))}</td><td class=n>{int(line['quantity'])}</td>"
        f"<td class=n>{_money(int(line['totals'][-1]['amount']), currency)}</td></tr>"
        for line in body.get("line_items", [])
    )
    totals = "".join(
        f"<tr><th scope=row colspan=2>{escape(str(entry.get('display_text') or entry['type']))}</th>"
        f"<td class=n>{_money(int(entry['amount']), currency)}</td></tr>"
        for entry in body.get("totals", [])
    )
    status = str(body.get("status", view.state.status.value))
    return (
        f"<p>Checkout <code>{escape(view.state.id)}</code>: "
        f"<strong id=status data-status='{escape(status)}'>{escape(STATUS_TEXT.get(status, status))}</strong></p>"
        "<table><caption>Your items</caption><thead><tr><th scope=col>Item</th><th scope=col class=n>Quantity</th>"
        f"<th scope=col class=n>Amount</th></tr></thead><tbody>{rows}</tbody><tfoot>{totals}</tfoot></table>"
    )


def _hidden(token: str, csrf: str) -> str:
    return f"<input type=hidden name=token value='{escape(token)}'><input type=hidden name=csrf value='{escape(csrf)}'>"


def _forms(view: CheckoutView, token: str, csrf: str) -> str:
    codes = view.escalations()
    messages = {m["code"]: m["content"] for m in view.rendered.messages if m["type"] == "error"}
    action = f"/checkout/{quote(view.state.id, safe='')}"
    parts = []
    review = [code for code in codes if code != THREE_DS]
    if review:
        items = "".join(f"<li>{escape(str(messages.get(code, code)))}</li>" for code in review)
        engraving = (
            "<label for=engraving>Engraving text</label><input id=engraving name=engraving maxlength=40>"
            if "engraving_required" in review
            else ""
        )
        parts.append(
            f"<form method=post action='{action}/confirm' aria-labelledby=review-title>"
            f"<h2 id=review-title>Review your order</h2><ul>{items}</ul>{engraving}{_hidden(token, csrf)}"
            "<button type=submit id=confirm>Confirm order</button></form>"
        )
    if THREE_DS in codes:
        parts.append(
            f"<form method=post action='{action}/3ds' aria-labelledby=tds-title>"
            "<h2 id=tds-title>Verify your payment</h2>"
            "<p>Your bank sent a one-time code to your phone (simulation: the code is 123456).</p>"
            "<label for=code>One-time code</label>"
            "<input id=code name=code inputmode=numeric autocomplete=one-time-code required maxlength=8>"
            f"{_hidden(token, csrf)}<button type=submit id=verify>Verify</button></form>"
        )
    return "".join(parts)


def render_page(
    view: CheckoutView | None, *, style_nonce: str, csrf: str, token: str, notice: str | None = None
) -> str:
    """The whole page; ``view=None`` renders only ``notice`` (invalid link, expired form)."""
    content: list[Any] = []
    if notice:
        content.append(f"<p class=notice role=status>{escape(notice)}</p>")
    if view is not None:
        content.append(_summary(view))
        content.append(_forms(view, token, csrf))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>Your checkout</title><style nonce='{escape(style_nonce)}'>{STYLE}</style></head>"
        f"<body><main><h1>Your checkout</h1>{''.join(content)}</main></body></html>"
    )
