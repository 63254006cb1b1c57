"""``ucp-connector demo``: play a platform against the running dev stack and narrate every step.

The demo platform is a :class:`ucp_connector.client.PlatformClient`: it signs
every request with its own key (from the dev state directory), retries with
the same ``Idempotency-Key``, and verifies every response signature with the
keys the connector publishes at ``/.well-known/ucp``, as a real platform would.

* ``--scenario checkout`` (default): create -> add buyer and shipping ->
  complete -> wait for the merchant's signed order webhooks (the reference
  merchant ships a few seconds after the order) -> read the order through
  the connector -> show the audit trail and the Temporal UI link of the
  session's workflow.
* ``--scenario escalation``: an item whose engraving must be chosen on the
  merchant's site: the session answers ``requires_escalation`` with a
  ``continue_url``; the demo shows the hand-off and cancels.
"""

from __future__ import annotations

import asyncio
import json
import time
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
TOKENIZED_CARD = {
    "payment": {
        "instruments": [
            {
                "id": "pi_1",
                "handler_id": "ref_tokenizer",
                "type": "card",
                "selected": True,
                "credential": {"type": "token", "token": "tok_demo"},
            }
        ]
    }
}


class Scenario(StrEnum):
    CHECKOUT = "checkout"
    ESCALATION = "escalation"


class DemoError(RuntimeError):
    """The demo cannot go on (stack not running, unexpected answer); the message says what to do."""


def _say(step: int, text: str) -> None:
    console.print(f"[bold cyan]{step}.[/] {text}")


def _expect(checkout: Checkout, wanted: str) -> Checkout:
    summary: dict[str, Any] = {"id": checkout.id, "status": checkout.status.value}
    if checkout.continue_url:
        summary["continue_url"] = checkout.continue_url
    summary["totals"] = {total.type: total.amount for total in checkout.totals}
    messages = [message.model_dump(mode="json") for message in checkout.messages or []]
    if messages:
        summary["messages"] = [f"{m.get('type')}: {m.get('code')} - {m.get('content')}" for m in messages]
    console.print(f"   {json.dumps(summary)}  [dim](response signature verified)[/]")
    if checkout.status.value != wanted:
        raise DemoError(f"expected status {wanted!r}, got {checkout.status.value!r}")
    return checkout


async def run_checkout(platform: PlatformClient, merchant: str, ui_url: str) -> None:
    _say(1, "create a checkout session (one red T-shirt)")
    body = {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]}
    checkout = _expect(await platform.create_checkout(merchant, body), "incomplete")
    session = checkout.id
    _say(2, "add the buyer and choose standard shipping")
    update = {
        "line_items": [
            {"id": line.id, "item": {"id": line.item.id}, "quantity": line.quantity} for line in checkout.line_items
        ],
        "buyer": BUYER,
        "fulfillment": STANDARD_SHIPPING,
    }
    _expect(await platform.update_checkout(merchant, session, update), "ready_for_complete")
    _say(3, "complete the checkout (the buyer confirmed; a tokenized card)")
    completed = _expect(await platform.complete_checkout(merchant, session, TOKENIZED_CARD), "completed")
    assert completed.order is not None  # a completed checkout carries its order (Checkout's validator)
    order_id = completed.order.id
    _say(4, f"wait for the merchant's signed order webhooks (order {order_id} placed, then shipped)")
    await _wait_for_order_webhooks(platform, session, count=2)
    _say(5, "read the order (the connector asks the merchant and verifies its signature)")
    order = await platform.get_order(merchant, order_id)
    events = [event.get("type") for event in order.get("fulfillment", {}).get("events", [])]
    console.print(f"   order {order_id}: fulfillment events {events}")
    _say(6, "the session's audit trail (hash-chained, append-only)")
    trail = await platform.session_events(session, limit=200)
    for event in trail["events"]:
        console.print(f"   #{event['seq']:<3} {event['actor']:<28} {event['action']:<28} {event['outcome']}")
    _workflow_link(ui_url, session)


async def _wait_for_order_webhooks(platform: PlatformClient, session: str, *, count: int, seconds: float = 60) -> None:
    """Webhooks are the order channel (ORD-12): watch the trail for them instead of polling the merchant."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        trail = await platform.session_events(session, limit=200)
        if len([event for event in trail["events"] if event.get("action") == "order_event"]) >= count:
            return
        await asyncio.sleep(0.5)
    raise DemoError("the order webhooks did not arrive; see .ucp/logs/merchant.log and api.log")


async def run_escalation(platform: PlatformClient, merchant: str, ui_url: str) -> None:
    _say(1, "create a checkout for an engraved watch (the engraving is chosen on the merchant's site)")
    body = {
        "line_items": [{"item": {"id": "watch_engraved"}, "quantity": 1}],
        "buyer": BUYER,
        "fulfillment": STANDARD_SHIPPING,
    }
    checkout = _expect(await platform.create_checkout(merchant, body), "requires_escalation")
    _say(2, f"hand the buyer over to the merchant: {checkout.continue_url}")
    _say(3, "the buyer walks away; the platform cancels the session")
    _expect(await platform.cancel_checkout(merchant, checkout.id), "canceled")
    _workflow_link(ui_url, checkout.id)


def _workflow_link(ui_url: str, session_id: str) -> None:
    workflow_id = checkout_workflow_id(DEMO_PLATFORM, session_id)
    link = f"{ui_url.rstrip('/')}/namespaces/default/workflows/{quote(workflow_id, safe='')}"
    console.print(f"[bold green]done.[/] workflow {workflow_id}\n   Temporal UI: {link}", soft_wrap=True)


def demo_client(layout: DevLayout, api_url: str) -> PlatformClient:
    """The demo platform as a :class:`PlatformClient`: its key from the dev state directory."""
    return PlatformClient(api_url, layout.demo_platform_key(), profile_url=DEMO_PROFILE_URL)


async def _play(layout: DevLayout, api_url: str, ui_url: str, scenario: Scenario, merchant: str) -> None:
    async with demo_client(layout, api_url) as platform:
        try:
            await platform.published_keys()
        except httpx.HTTPError as exc:
            raise DemoError(f"cannot reach the connector at {api_url}; is `ucp-connector dev` running?") from exc
        console.print(f"[bold]demo platform '{DEMO_PLATFORM}' -> {api_url} (merchant '{merchant}')[/]")
        try:
            await (run_checkout if scenario is Scenario.CHECKOUT else run_escalation)(platform, merchant, ui_url)
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
) -> None:
    """Drive a checkout through the running dev stack as the demo platform, step by step."""
    layout = DevLayout(state_dir)
    if not layout.demo_platform_key_file.exists():
        raise DemoError(f"no demo platform key in {layout.keys_dir}; start `ucp-connector dev` first")
    recorded = layout.read_stack()
    api_url = api_url or recorded.get("api_url", "http://127.0.0.1:8000")
    temporal_ui_url = temporal_ui_url or recorded.get("temporal_ui_url", "http://127.0.0.1:8233")
    asyncio.run(_play(layout, api_url, temporal_ui_url, scenario, merchant))
