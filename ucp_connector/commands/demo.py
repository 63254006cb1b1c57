"""``ucp-connector demo``: play a platform against the running dev stack and narrate every step.

The demo platform signs every request with its own key (from the dev state
directory) and verifies every response signature with the keys the
connector publishes at ``/.well-known/ucp``, exactly as a real platform would.

* ``--scenario checkout`` (default): create -> add buyer and shipping (and
  pick the first fulfillment option where the merchant offers a choice) ->
  complete -> wait for the merchant's signed order webhooks (the reference
  merchant ships a few seconds after the order) -> read the order through
  the connector -> show the audit trail and the Temporal UI link of the
  session's workflow. ``--merchant NAME`` drives any merchant in the
  connector's registry, whatever UCP release it speaks: ``--item``,
  ``--handler``, ``--card-token``, ``--currency`` say what to buy and how to pay
  there (the handler defaults to the first one its profile lists).
* ``--scenario escalation``: an item whose engraving must be chosen on the
  merchant's site: the session answers ``requires_escalation`` with a
  ``continue_url``; the demo shows the hand-off and cancels.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console

from contracts import (
    JwkSet,
    SigningKey,
    checkout_workflow_id,
    format_ucp_agent,
    sign_request,
    verify_response,
)
from ucp_connector.dev_layout import DEMO_MERCHANT, DEMO_PLATFORM, DevLayout

console = Console(highlight=False)

ADDRESS = {
    "street_address": "123 Main St",
    "address_locality": "Springfield",
    "address_region": "IL",
    "postal_code": "62701",
    "address_country": "US",
}
BUYER = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}
SHIPPING = {
    "methods": [{"type": "shipping", "destinations": [{"id": "home", **ADDRESS}], "selected_destination_id": "home"}]
}
DEMO_CARD_TOKEN = "tok_demo"  # noqa: S105 -- a test card token the reference merchant accepts, not a secret
STANDARD_SHIPPING = {
    "methods": [
        {
            "type": "shipping",
            "destinations": [{"id": "home", **ADDRESS}],
            "selected_destination_id": "home",
            "groups": [{"selected_option_id": "standard"}],
        }
    ]
}


class Scenario(StrEnum):
    CHECKOUT = "checkout"
    ESCALATION = "escalation"


class DemoError(RuntimeError):
    """The demo cannot go on (stack not running, unexpected answer); the message says what to do."""


class DemoPlatform:
    """A minimal UCP platform client: signs requests, verifies responses."""

    def __init__(self, api_url: str, key: SigningKey, merchant: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.key = key
        self.merchant = merchant
        self.http = httpx.Client(timeout=60)
        try:
            profile = self.http.get(f"{self.api_url}/.well-known/ucp")
        except httpx.HTTPError as exc:
            raise DemoError(f"cannot reach the connector at {self.api_url}; is `ucp-connector dev` running?") from exc
        self.connector_keys = JwkSet.from_list(profile.json()["signing_keys"])

    def payment_handler(self) -> str | None:
        """The first payment handler id the merchant's profile lists (as the connector presents it)."""
        response = self.http.get(f"{self.api_url}/merchants/{self.merchant}/.well-known/ucp")
        if response.status_code != 200:
            return None
        handlers = response.json().get("ucp", {}).get("payment_handlers", {})
        return next((entry.get("id") for entries in handlers.values() for entry in entries if entry.get("id")), None)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        url = f"{self.api_url}{path}"
        raw = None if body is None else json.dumps(body).encode()
        headers = [("UCP-Agent", format_ucp_agent(f"https://{DEMO_PLATFORM}.example/.well-known/ucp"))]
        if raw is not None:
            headers.append(("Content-Type", "application/json"))
        if method in ("POST", "PUT"):
            headers.append(("Idempotency-Key", str(uuid.uuid4())))
        headers += list(sign_request(method=method, url=url, headers=headers, body=raw, key=self.key).items())
        response = self.http.request(method, url, content=raw, headers=headers)
        verify_response(
            status=response.status_code,
            headers=list(response.headers.multi_items()),
            body=response.content or None,
            keys=self.connector_keys,
        )
        return response.status_code, dict(response.json())


def _say(step: int, text: str) -> None:
    console.print(f"[bold cyan]{step}.[/] {text}")


def _show(status: int, document: dict[str, Any]) -> None:
    summary: dict[str, Any] = {
        key: document[key] for key in ("id", "status", "continue_url", "code", "content") if key in document
    }
    totals = {entry["type"]: entry["amount"] for entry in document.get("totals", []) if "type" in entry}
    if totals:
        summary["totals"] = totals
    if document.get("messages"):
        summary["messages"] = [f"{m.get('type')}: {m.get('code')} - {m.get('content')}" for m in document["messages"]]
    console.print(f"   HTTP {status}  {json.dumps(summary)}  [dim](response signature verified)[/]")


def _expect(status: int, document: dict[str, Any], *wanted: str) -> None:
    _show(status, document)
    if document.get("status") not in wanted:
        raise DemoError(f"expected status {' or '.join(wanted)}, got HTTP {status}: {json.dumps(document)[:600]}")


@dataclass(frozen=True)
class Purchase:
    """What the demo buys and how it pays: the dev merchant's defaults, or options for any configured merchant."""

    item: str = "tshirt_red"
    quantity: int = 1
    handler: str | None = None  # default: the first payment handler the merchant's profile (via the connector) lists
    card_token: str = DEMO_CARD_TOKEN
    currency: str | None = None
    webhooks: int = 2


def run_checkout(platform: DemoPlatform, ui_url: str, purchase: Purchase = Purchase()) -> None:
    base = f"/merchants/{platform.merchant}/checkout-sessions"
    _say(1, f"create a checkout session ({purchase.quantity} x {purchase.item})")
    create: dict[str, Any] = {"line_items": [{"item": {"id": purchase.item}, "quantity": purchase.quantity}]}
    if purchase.currency:
        create["context"] = {"currency": purchase.currency}
    status, checkout = platform.call("POST", base, create)
    _expect(status, checkout, "incomplete", "ready_for_complete")
    session = checkout["id"]
    _say(2, "add the buyer and a shipping address")
    update: dict[str, Any] = {**_line_items(checkout), "buyer": BUYER, "fulfillment": SHIPPING}
    if purchase.currency:
        update["context"] = {"currency": purchase.currency}
    status, checkout = platform.call("PUT", f"{base}/{session}", update)
    choice = _first_options(checkout)
    if choice is not None:
        _show(status, checkout)
        _say(3, "choose the first fulfillment option of each group")
        status, checkout = platform.call("PUT", f"{base}/{session}", {**update, "fulfillment": choice})
    _expect(status, checkout, "ready_for_complete")
    handler = purchase.handler or platform.payment_handler() or "ref_tokenizer"
    _say(4, f"complete the checkout (the buyer confirmed; a tokenized card for handler {handler})")
    instrument = {
        "id": "pi_1",
        "handler_id": handler,
        "type": "card",
        "selected": True,
        "display": {"brand": "visa", "last_digits": "1111"},
        "credential": {"type": "token", "token": purchase.card_token},
    }
    status, completed = platform.call("POST", f"{base}/{session}/complete", {"payment": {"instruments": [instrument]}})
    _expect(status, completed, "completed", "complete_in_progress")
    order_id = (completed.get("order") or {}).get("id")
    if purchase.webhooks and order_id:
        _say(5, f"wait for the merchant's signed order webhooks (order {order_id} placed, then shipped)")
        _wait_for_order_webhooks(platform, session, count=purchase.webhooks)
    if order_id:
        _say(6, "read the order (the connector asks the merchant and verifies its signature)")
        status, order = platform.call("GET", f"/merchants/{platform.merchant}/orders/{order_id}")
        if status != 200:
            raise DemoError(f"order read failed with HTTP {status}: {json.dumps(order)[:300]}")
        events = [event.get("type") for event in order.get("fulfillment", {}).get("events", [])]
        console.print(f"   order {order_id}: fulfillment events {events}")
    _say(7, "the session's audit trail (hash-chained, append-only)")
    _, trail = platform.call("GET", f"/checkout-sessions/{session}/events?limit=200")
    for event in trail["events"]:
        console.print(f"   #{event['seq']:<3} {event['actor']:<28} {event['action']:<28} {event['outcome']}")
    _workflow_link(ui_url, session)


def _line_items(checkout: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {"id": line["id"], "item": {"id": line["item"]["id"]}, "quantity": line["quantity"]}
        for line in checkout["line_items"]
    ]
    return {"line_items": lines}


def _first_options(checkout: dict[str, Any]) -> dict[str, Any] | None:
    """A fulfillment that selects each group's first option, when some group has options and none chosen."""
    methods = (checkout.get("fulfillment") or {}).get("methods") or []
    open_groups = [
        group
        for method in methods
        for group in method.get("groups") or []
        if group.get("options") and not group.get("selected_option_id")
    ]
    if not open_groups:
        return None
    # PUT replaces the session (CHK-15): the buyer's address goes again, with the choice of option.
    shipping = SHIPPING["methods"][0]
    return {
        "methods": [
            {
                **shipping,
                "id": method.get("id"),
                "groups": [
                    {
                        "id": group.get("id"),
                        "selected_option_id": group.get("selected_option_id") or group["options"][0]["id"],
                    }
                    for group in method.get("groups") or []
                    if group.get("options")
                ],
            }
            for method in methods
        ]
    }


def _wait_for_order_webhooks(platform: DemoPlatform, session: str, *, count: int, seconds: float = 60.0) -> None:
    """Webhooks are the order channel (ORD-12): watch the trail for them instead of polling the merchant."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, trail = platform.call("GET", f"/checkout-sessions/{session}/events?limit=200")
        received = [event for event in trail.get("events", []) if event.get("action") == "order_event"]
        if status == 200 and len(received) >= count:
            return
        time.sleep(0.5)
    raise DemoError("the order webhooks did not arrive; see .ucp/logs/merchant.log and api.log")


def run_escalation(platform: DemoPlatform, ui_url: str) -> None:
    base = f"/merchants/{platform.merchant}/checkout-sessions"
    _say(1, "create a checkout for an engraved watch (the engraving is chosen on the merchant's site)")
    body = {
        "line_items": [{"item": {"id": "watch_engraved"}, "quantity": 1}],
        "buyer": BUYER,
        "fulfillment": STANDARD_SHIPPING,
    }
    status, checkout = platform.call("POST", base, body)
    _expect(status, checkout, "requires_escalation")
    session = checkout["id"]
    _say(2, f"hand the buyer over to the merchant: {checkout.get('continue_url')}")
    _say(3, "the buyer walks away; the platform cancels the session")
    _expect(*platform.call("POST", f"{base}/{session}/cancel", {}), "canceled")
    _workflow_link(ui_url, session)


def _workflow_link(ui_url: str, session_id: str) -> None:
    workflow_id = checkout_workflow_id(DEMO_PLATFORM, session_id)
    link = f"{ui_url.rstrip('/')}/namespaces/default/workflows/{quote(workflow_id, safe='')}"
    console.print(f"[bold green]done.[/] workflow {workflow_id}\n   Temporal UI: {link}", soft_wrap=True)


def demo(
    state_dir: Annotated[Path, typer.Option(envvar="UCP_STATE_DIR", help="The dev stack's state directory.")] = Path(
        ".ucp"
    ),
    api_url: Annotated[
        str | None, typer.Option(help="The connector API (default: what `dev` recorded in the state dir).")
    ] = None,
    temporal_ui_url: Annotated[str | None, typer.Option(help="Temporal Web UI, for the workflow link.")] = None,
    scenario: Annotated[Scenario, typer.Option(help="What to show.")] = Scenario.CHECKOUT,
    merchant: Annotated[str, typer.Option(help="Merchant id in the connector's registry.")] = DEMO_MERCHANT,
    item: Annotated[str, typer.Option(help="Item id to buy (the merchant's catalog).")] = "tshirt_red",
    quantity: Annotated[int, typer.Option(min=1, max=100)] = 1,
    handler: Annotated[
        str | None, typer.Option(help="Payment handler id (default: the first the merchant's profile lists).")
    ] = None,
    card_token: Annotated[str, typer.Option(help="The card token the instrument carries.")] = DEMO_CARD_TOKEN,
    currency: Annotated[str | None, typer.Option(help="context.currency, for merchants that want one.")] = None,
    webhooks: Annotated[
        int | None, typer.Option(help="Order webhooks to wait for (default: 2 at the dev merchant, else 0).")
    ] = None,
) -> None:
    """Drive a checkout through the running dev stack as the demo platform, step by step."""
    layout = DevLayout(state_dir)
    if not layout.demo_platform_key_file.exists():
        raise DemoError(f"no demo platform key in {layout.keys_dir}; start `ucp-connector dev` first")
    recorded = layout.read_stack()
    api_url = api_url or recorded.get("api_url", "http://127.0.0.1:8000")
    temporal_ui_url = temporal_ui_url or recorded.get("temporal_ui_url", "http://127.0.0.1:8233")
    platform = DemoPlatform(api_url, layout.demo_platform_key(), merchant)
    console.print(f"[bold]demo platform '{DEMO_PLATFORM}' -> {api_url} (merchant '{merchant}')[/]")
    if scenario is Scenario.ESCALATION:
        run_escalation(platform, temporal_ui_url)
        return
    expected_webhooks = webhooks if webhooks is not None else (2 if merchant == DEMO_MERCHANT else 0)
    purchase = Purchase(item, quantity, handler, card_token, currency, expected_webhooks)
    run_checkout(platform, temporal_ui_url, purchase)
