"""The buyer's hand-off page at ``continue_url``: review and confirm, or pass a (simulated) 3-D Secure check.

``continue_url`` is ``{base_url}/checkout/{id}?token={handoff_token}``. The
page is the *buyer's*, opened in a browser, so it is not RFC 9421-signed; it
is guarded instead:

* **Unguessable link**: the per-checkout ``handoff_token`` (192 random bits,
  compared in constant time). A wrong token and an unknown checkout get the
  same ``404`` page, so the page is no oracle for checkout ids.
* **CSRF-safe posts**: the page sets a random nonce in an ``HttpOnly``,
  ``SameSite=Strict`` cookie scoped to this checkout's path, and each form
  carries ``HMAC(instance key, id | token | nonce)``; a post is accepted only
  with both, the token, and (when the browser sends one) an ``Origin`` equal to
  the merchant's. Forms are ``application/x-www-form-urlencoded``, at most 4 KiB.
* **No open redirect**: after a post the page redirects (``303``) to itself,
  built from the checkout id and token it just verified; no URL is read
  from the request.
* **Escaped output and a strict CSP**: every value goes through
  ``html.escape``; ``default-src 'none'``, the one inline stylesheet allowed by
  a per-response nonce, ``form-action 'self'``, ``frame-ancestors 'none'``,
  ``Referrer-Policy: same-origin`` (the token never leaves in a referrer, and
  the browser still sends our ``Origin`` on the forms' posts: with
  ``no-referrer`` it would send ``Origin: null``), ``no-store``.
* **One checkout only**: a post resolves escalations of the checkout named in
  the path, after its token was verified, and nothing else.

What the buttons do (checkout.md "Status Values"; overview.md "Scenario B"):

* **Confirm** resolves every open escalation but the 3-D Secure one (buyer
  review ``high_value_review``, and ``engraving_required`` for which the page
  takes the engraving text): the status is derived again, so the checkout
  becomes ``ready_for_complete`` unless something else is missing.
* **Verify** (the 3-D Secure challenge, code ``123456`` in this simulation)
  resolves ``requires_3ds``: the checkout is ``ready_for_complete`` again and
  the platform *retries* ``complete``, which then proceeds — the flow the
  spec describes ("open continue_url for the bank check, then retry the
  completion"). The merchant does not complete on its own: the platform holds
  the payment credential and the idempotent completion.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from contracts import UcpError
from reference_merchant.backoffice import THREE_DS, CheckoutView
from reference_merchant.handoff_page import NOTICES, render_page

if TYPE_CHECKING:
    from reference_merchant.app import ReferenceMerchant

MAX_FORM_BYTES: Final = 4096
CHALLENGE_CODE: Final = "123456"
COOKIE: Final = "handoff_nonce"


def _headers(style_nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{style_nonce}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


class HandoffPage:
    def __init__(self, merchant: ReferenceMerchant) -> None:
        self._merchant = merchant
        self._key = secrets.token_bytes(32)
        parts = urlsplit(merchant.config.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._secure = parts.scheme == "https"

    def _csrf(self, checkout_id: str, token: str, nonce: str) -> str:
        message = f"{checkout_id}|{token}|{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    async def _view(self, checkout_id: str, token: str | None) -> CheckoutView | None:
        """The checkout, if ``token`` is its hand-off token; ``None`` for any mismatch (same answer)."""
        if not token or len(token) > 128 or len(checkout_id) > 64:
            return None
        try:
            view = await self._merchant.backoffice.view(checkout_id)
        except UcpError:  # unknown checkout (a business outcome) or its database being down: no page
            return None
        expected = view.state.handoff_token.encode()
        return view if hmac.compare_digest(expected, token.encode()) else None

    def _not_found(self) -> Response:
        nonce = secrets.token_urlsafe(12)
        body = render_page(None, style_nonce=nonce, csrf="", token="", notice="This checkout link is not valid.")
        return HTMLResponse(body, status_code=404, headers=_headers(nonce))

    async def show(self, request: Request, checkout_id: str) -> Response:
        token = request.query_params.get("token")
        view = await self._view(checkout_id, token)
        if view is None or token is None:
            return self._not_found()
        return self._page(view, token, notice=request.query_params.get("notice"))

    def _page(self, view: CheckoutView, token: str, *, notice: str | None = None, status: int = 200) -> Response:
        style_nonce = secrets.token_urlsafe(12)
        csrf_nonce = secrets.token_urlsafe(16)
        body = render_page(
            view,
            style_nonce=style_nonce,
            csrf=self._csrf(view.state.id, token, csrf_nonce),
            token=token,
            notice=NOTICES.get(notice or ""),
        )
        response = HTMLResponse(body, status_code=status, headers=_headers(style_nonce))
        response.set_cookie(
            COOKIE,
            csrf_nonce,
            httponly=True,
            samesite="strict",
            secure=self._secure,
            path=f"/checkout/{quote(view.state.id, safe='')}",
        )
        return response

    async def _verified_form(self, request: Request, checkout_id: str) -> tuple[CheckoutView, dict[str, str]] | None:
        origin = request.headers.get("origin")
        if origin is not None and origin != self._origin:
            return None
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        fields = {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}
        token, csrf, nonce = fields.get("token", ""), fields.get("csrf", ""), request.cookies.get(COOKIE, "")
        view = await self._view(checkout_id, token)
        if view is None or not nonce or not hmac.compare_digest(self._csrf(checkout_id, token, nonce), csrf):
            return None
        return view, fields

    def _back(self, view: CheckoutView, token: str, notice: str) -> Response:
        location = f"/checkout/{quote(view.state.id, safe='')}?token={quote(token, safe='')}&notice={notice}"
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})

    async def confirm(self, request: Request, checkout_id: str) -> Response:
        verified = await self._verified_form(request, checkout_id)
        if verified is None:
            return self._refused()
        view, fields = verified
        codes = [code for code in view.escalations() if code != THREE_DS]
        if not codes:
            return self._back(view, fields["token"], "nothing_to_confirm")
        await self._merchant.backoffice.resolve_escalations(view.state.id, codes)
        return self._back(view, fields["token"], "confirmed")

    async def three_d_secure(self, request: Request, checkout_id: str) -> Response:
        verified = await self._verified_form(request, checkout_id)
        if verified is None:
            return self._refused()
        view, fields = verified
        if THREE_DS not in view.escalations():
            return self._back(view, fields["token"], "nothing_to_confirm")
        if not hmac.compare_digest(fields.get("code", "").strip().encode(), CHALLENGE_CODE.encode()):
            return self._back(view, fields["token"], "challenge_failed")
        await self._merchant.backoffice.resolve_escalations(view.state.id, [THREE_DS])
        return self._back(view, fields["token"], "verified")

    def _refused(self) -> Response:
        nonce = secrets.token_urlsafe(12)
        body = render_page(None, style_nonce=nonce, csrf="", token="", notice="This form has expired; reload the page.")
        return HTMLResponse(body, status_code=403, headers=_headers(nonce))


def install_handoff_routes(app: FastAPI, merchant: ReferenceMerchant) -> None:
    page = HandoffPage(merchant)
    app.add_api_route("/checkout/{checkout_id}", page.show, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/checkout/{checkout_id}/confirm", page.confirm, methods=["POST"])
    app.add_api_route("/checkout/{checkout_id}/3ds", page.three_d_secure, methods=["POST"])
