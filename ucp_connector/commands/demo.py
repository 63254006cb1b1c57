"""``ucp-connector demo``: play a platform against the running dev stack and narrate every step.

The demo platform is a :class:`ucp_connector.client.PlatformClient`: it signs
every request with its own key (from the dev state directory), retries with
the same ``Idempotency-Key``, and verifies every response signature with the
keys the connector publishes at ``/.well-known/ucp``, as a real platform would.

* ``--scenario checkout`` (default): create -> add buyer and shipping (and
  pick the first fulfillment option where the merchant offers a choice) ->
  complete -> wait for the merchant's signed order webhooks (the reference
  merchant ships a few seconds after the order) -> read the order through
  the connector -> show the audit trail and the Temporal UI link of the
  session's workflow. ``--merchant NAME`` drives any merchant in the
  connector's registry, whatever UCP release it speaks: ``--item``,
  ``--handler``, ``--card-token``, ``--currency`` say what to buy and how to
  pay there (the handler defaults to the first one its profile lists).
* ``--scenario escalation``: an item whose engraving must be chosen on the
  merchant's site: the session answers ``requires_escalation`` with a
  ``continue_url``; the demo prints the hand-off link and waits for the buyer
  (open it in a browser, type the engraving, confirm), reading the session
  through the connector — whose GET reads the merchant through while a
  session waits on its buyer (CHK-03, CMP-05) — until it is
  ``ready_for_complete``, then completes it. A buyer who does not come back
  within ``--buyer-wait`` seconds walks away: the platform cancels.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console

from contracts import checkout_workflow_id
from contracts.ucp import Checkout
from ucp_connector.client import ConnectorError, PlatformClient, ResponseNotSignedError
from ucp_connector.dev_layout import DEMO_MERCHANT, DEMO_PLATFORM, DevLayout

console = Console(highlight=False)
DEMO_PROFILE_URL = f"https://{DEMO_PLATFORM}.example/.well-known/ucp"

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


def _say(step: int, text: str) -> None:
    console.print(f"[bold cyan]{step}.[/] {text}")


def _expect(checkout: Checkout, *wanted: str) -> Checkout:
    summary: dict[str, Any] = {"id": checkout.id, "status": checkout.status.value}
    if checkout.continue_url:
        summary["continue_url"] = checkout.continue_url
    summary["totals"] = {total.type: total.amount for total in checkout.totals}
    messages = [message.model_dump(mode="json") for message in checkout.messages or []]
    if messages:
        summary["messages"] = [f"{m.get('type')}: {m.get('code')} - {m.get('content')}" for m in messages]
    console.print(f"   {json.dumps(summary)}  [dim](response signature verified)[/]")
    if checkout.status.value not in wanted:
        raise DemoError(f"expected status {' or '.join(wanted)}, got {checkout.status.value!r}")
    return checkout


@dataclass(frozen=True)
class Purchase:
    """What the demo buys and how it pays: the dev merchant's defaults, or options for any configured merchant."""

    item: str = "tshirt_red"
    quantity: int = 1
    handler: str | None = None  # default: the first payment handler the merchant's profile (via the connector) lists
    card_token: str = DEMO_CARD_TOKEN
    currency: str | None = None
    webhooks: int = 2


async def run_checkout(platform: PlatformClient, merchant: str, ui_url: str, purchase: Purchase = Purchase()) -> None:
    _say(1, f"create a checkout session ({purchase.quantity} x {purchase.item})")
    context = {"context": {"currency": purchase.currency}} if purchase.currency else {}
    body = {"line_items": [{"item": {"id": purchase.item}, "quantity": purchase.quantity}], **context}
    checkout = _expect(await platform.create_checkout(merchant, body), "incomplete", "ready_for_complete")
    session = checkout.id
    _say(2, "add the buyer and a shipping address")
    update = {
        "line_items": [
            {"id": line.id, "item": {"id": line.item.id}, "quantity": line.quantity} for line in checkout.line_items
        ],
        "buyer": BUYER,
        "fulfillment": SHIPPING,
        **context,
    }
    checkout = await platform.update_checkout(merchant, session, update)
    choice = _first_options(checkout)
    if choice is not None:
        _expect(checkout, checkout.status.value)
        _say(3, "choose the first fulfillment option of each group")
        checkout = await platform.update_checkout(merchant, session, {**update, "fulfillment": choice})
    _expect(checkout, "ready_for_complete")
    handler = purchase.handler or await _first_handler(platform, merchant) or "ref_tokenizer"
    _say(4, f"complete the checkout (the buyer confirmed; a tokenized card for handler {handler})")
    completed = _expect(
        await platform.complete_checkout(merchant, session, _payment(handler, purchase.card_token)),
        "completed",
        "complete_in_progress",
    )
    order_id = completed.order.id if completed.order is not None else None
    if order_id and purchase.webhooks:
        _say(5, f"wait for the merchant's signed order webhooks (order {order_id} placed, then shipped)")
        await _wait_for_order_webhooks(platform, session, count=purchase.webhooks)
    if order_id:
        _say(6, "read the order (the connector asks the merchant and verifies its signature)")
        order = await platform.get_order(merchant, order_id)
        events = [event.get("type") for event in order.get("fulfillment", {}).get("events", [])]
        console.print(f"   order {order_id}: fulfillment events {events}")
    _say(7, "the session's audit trail (hash-chained, append-only)")
    trail = await platform.session_events(session, limit=200)
    for event in trail["events"]:
        console.print(f"   #{event['seq']:<3} {event['actor']:<28} {event['action']:<28} {event['outcome']}")
    _workflow_link(ui_url, session)


def _first_options(checkout: Checkout) -> dict[str, Any] | None:
    """A fulfillment selecting each group's first option, when some group offers options and none is chosen.

    PUT replaces the session (CHK-15): the buyer's address goes again with the choice.
    """
    methods = checkout.fulfillment.methods if checkout.fulfillment and checkout.fulfillment.methods else []
    groups = [group for method in methods for group in method.groups or [] if group.options]
    if not groups or all(group.selected_option_id for group in groups):
        return None
    shipping = SHIPPING["methods"][0]
    return {
        "methods": [
            {
                **shipping,
                "id": method.id,
                "groups": [
                    {"id": group.id, "selected_option_id": group.selected_option_id or group.options[0].id}
                    for group in method.groups or []
                    if group.options
                ],
            }
            for method in methods
        ]
    }


async def _first_handler(platform: PlatformClient, merchant: str) -> str | None:
    """The first payment handler id of the merchant's profile, as the connector presents it."""
    response = await platform.request("GET", f"/merchants/{merchant}/.well-known/ucp")
    if response.status_code != 200:
        return None
    handlers = dict(response.json().get("ucp", {}).get("payment_handlers", {}))
    return next((entry.get("id") for entries in handlers.values() for entry in entries if entry.get("id")), None)


async def _wait_for_order_webhooks(platform: PlatformClient, session: str, *, count: int, seconds: float = 60) -> None:
    """Webhooks are the order channel (ORD-12): watch the trail for them instead of polling the merchant."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        trail = await platform.session_events(session, limit=200)
        if len([event for event in trail["events"] if event.get("action") == "order_event"]) >= count:
            return
        await asyncio.sleep(0.5)
    raise DemoError("the order webhooks did not arrive; see .ucp/logs/merchant.log and api.log")


async def run_escalation(
    platform: PlatformClient, merchant: str, ui_url: str, buyer_wait: float = 300, purchase: Purchase = Purchase()
) -> None:
    _say(1, "create a checkout for an engraved watch (the engraving is chosen on the merchant's site)")
    body = {
        "line_items": [{"item": {"id": "watch_engraved"}, "quantity": 1}],
        "buyer": BUYER,
        "fulfillment": STANDARD_SHIPPING,
    }
    checkout = _expect(await platform.create_checkout(merchant, body), "requires_escalation")
    _say(2, "hand the buyer over to the merchant; open this link in a browser, choose the engraving, confirm:")
    console.print(f"   continue_url {checkout.continue_url}", soft_wrap=True, markup=False)
    ready = await _wait_for_buyer(platform, merchant, checkout.id, buyer_wait)
    if ready is None:
        _say(3, "the buyer walks away; the platform cancels the session")
        _expect(await platform.cancel_checkout(merchant, checkout.id), "canceled")
        _workflow_link(ui_url, checkout.id)
        return
    _expect(ready, "ready_for_complete")
    _say(3, "the buyer is back (the merchant says ready_for_complete): complete the checkout")
    handler = purchase.handler or await _first_handler(platform, merchant) or "ref_tokenizer"
    completed = await platform.complete_checkout(merchant, checkout.id, _payment(handler, purchase.card_token))
    _expect(completed, "completed", "complete_in_progress")
    _workflow_link(ui_url, checkout.id)


async def _wait_for_buyer(platform: PlatformClient, merchant: str, session: str, seconds: float) -> Checkout | None:
    """Poll the session (GET) until the buyer's hand-off has made it ready; None if the buyer never comes back.

    Every 2 s: the connector reads the merchant at most once per its own interval however often we ask.
    """
    if seconds <= 0:
        return None
    with console.status("waiting for the buyer on the merchant's page ..."):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            checkout = await platform.get_checkout(merchant, session)
            if checkout.status.value != "requires_escalation":
                return checkout
            await asyncio.sleep(2)
    return None


def _payment(handler: str, card_token: str) -> dict[str, Any]:
    instrument = {
        "id": "pi_1",
        "handler_id": handler,
        "type": "card",
        "selected": True,
        "display": {"brand": "visa", "last_digits": "1111"},
        "credential": {"type": "token", "token": card_token},
    }
    return {"payment": {"instruments": [instrument]}}


def _workflow_link(ui_url: str, session_id: str) -> None:
    workflow_id = checkout_workflow_id(DEMO_PLATFORM, session_id)
    link = f"{ui_url.rstrip('/')}/namespaces/default/workflows/{quote(workflow_id, safe='')}"
    console.print(f"[bold green]done.[/] workflow {workflow_id}\n   Temporal UI: {link}", soft_wrap=True)


def demo_client(layout: DevLayout, api_url: str) -> PlatformClient:
    """The demo platform as a :class:`PlatformClient`: its key from the dev state directory."""
    return PlatformClient(api_url, layout.demo_platform_key(), profile_url=DEMO_PROFILE_URL)


async def _play(
    layout: DevLayout,
    api_url: str,
    ui_url: str,
    scenario: Scenario,
    merchant: str,
    purchase: Purchase,
    buyer_wait: float = 300,
) -> None:
    async with demo_client(layout, api_url) as platform:
        try:
            await platform.published_keys()
        except httpx.HTTPError as exc:
            raise DemoError(f"cannot reach the connector at {api_url}; is `ucp-connector dev` running?") from exc
        console.print(f"[bold]demo platform '{DEMO_PLATFORM}' -> {api_url} (merchant '{merchant}')[/]")
        try:
            if scenario is Scenario.CHECKOUT:
                await run_checkout(platform, merchant, ui_url, purchase)
            else:
                await run_escalation(platform, merchant, ui_url, buyer_wait, purchase)
        except (ConnectorError, ResponseNotSignedError) as exc:
            raise DemoError(str(exc)) from exc


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
    buyer_wait: Annotated[
        float, typer.Option(min=0, help="Escalation: seconds to wait for the buyer's hand-off (0: cancel at once).")
    ] = 300,
) -> None:
    """Drive a checkout through the running dev stack as the demo platform, step by step."""
    layout = DevLayout(state_dir)
    if not layout.demo_platform_key_file.exists():
        raise DemoError(f"no demo platform key in {layout.keys_dir}; start `ucp-connector dev` first")
    recorded = layout.read_stack()
    api_url = api_url or recorded.get("api_url", "http://127.0.0.1:8000")
    temporal_ui_url = temporal_ui_url or recorded.get("temporal_ui_url", "http://127.0.0.1:8233")
    expected_webhooks = webhooks if webhooks is not None else (2 if merchant == DEMO_MERCHANT else 0)
    purchase = Purchase(item, quantity, handler, card_token, currency, expected_webhooks)
    asyncio.run(_play(layout, api_url, temporal_ui_url, scenario, merchant, purchase, buyer_wait))
