"""Orders: the snapshot placed at completion, and the fulfillment events that change it (order.md).

The order is built from the completed checkout (CMP-12): its line items with
``quantity {original, total, fulfilled}``, one expectation per delivery
method, its totals and currency. Events are appended, never edited (ORD-03);
every change produces a new full snapshot for the webhook (ORD-24).

Assumptions where the spec is silent:

* ``shipped`` counts as fulfilled: the merchant's part is done when the carrier
  has the parcel, so line items become ``fulfilled`` at shipping (ORD-04);
  ``delivered`` is a further event without quantity changes.
* Digital items are ``fulfilled`` together with the first shipment (or, in a
  digital-only order, by the first progression step) with a ``delivered``
  event "Sent by e-mail"; their expectation's destination is empty because
  postal_address has no required members.
* Tracking numbers are derived from the order id, so a run is reproducible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from contracts.ucp import derive_line_item_status
from contracts.ucp.order import OrderQuantity
from reference_merchant.catalog import Catalog
from reference_merchant.clock import isoformat
from reference_merchant.config import MerchantConfig
from reference_merchant.pricing import Rendered, order_permalink
from reference_merchant.state import CheckoutState, OrderState

POSTAL_FIELDS = (
    "extended_address",
    "street_address",
    "address_locality",
    "address_region",
    "address_country",
    "postal_code",
    "first_name",
    "last_name",
    "phone_number",
)


def build_order(
    state: CheckoutState,
    rendered: Rendered,
    config: MerchantConfig,
    catalog: Catalog,
    *,
    order_id: str,
    label: str,
) -> dict[str, Any]:
    """The initial order document (without ``ucp``) for a checkout that has just been paid."""
    body = rendered.body
    physical: list[dict[str, Any]] = []
    digital: list[dict[str, Any]] = []
    line_items = []
    for line in body["line_items"]:
        item = catalog.item(line["item"]["id"])
        reference = {"id": line["id"], "quantity": line["quantity"]}
        (physical if item is None or item.physical else digital).append(reference)
        quantity = {"original": line["quantity"], "total": line["quantity"], "fulfilled": 0}
        line_items.append(
            {
                "id": line["id"],
                "item": line["item"],
                "quantity": quantity,
                "totals": line["totals"],
                "status": derive_line_item_status(OrderQuantity.model_validate(quantity)).value,
            }
        )
    expectations = []
    if physical:
        method = (body.get("fulfillment") or {}).get("methods", [{}])[0]
        destination: dict[str, Any] = next(
            (d for d in method.get("destinations", []) if d.get("id") == method.get("selected_destination_id")), {}
        )
        option_id = (method.get("groups") or [{}])[0].get("selected_option_id")
        option = catalog.shipping_option(option_id) if option_id else None
        expectations.append(
            {
                "id": "exp_1",
                "line_items": physical,
                "method_type": "shipping",
                "destination": {name: destination[name] for name in POSTAL_FIELDS if name in destination},
                "description": option.description if option else "Ships soon",
                "fulfillable_on": "now",
            }
        )
    if digital:
        expectations.append(
            {
                "id": f"exp_{len(expectations) + 1}",
                "line_items": digital,
                "method_type": "digital",
                "destination": {},
                "description": "Sent by e-mail",
                "fulfillable_on": "now",
            }
        )
    document: dict[str, Any] = {
        "id": order_id,
        "label": label,
        "checkout_id": state.id,
        "permalink_url": order_permalink(config, order_id),
        "currency": state.currency,
        "line_items": line_items,
        "fulfillment": {"expectations": expectations, "events": []},
        "adjustments": [],
        "totals": body["totals"],
    }
    if state.attribution:
        document["attribution"] = state.attribution
    return document


def _tracking_number(order_id: str, sequence: int) -> str:
    return "1Z" + hashlib.sha256(f"{order_id}/{sequence}".encode()).hexdigest()[:16].upper()


def _event(order: OrderState, kind: str, lines: list[dict[str, Any]], now: dt.datetime, **extra: str) -> None:
    event = {
        "id": f"evt_{order.next_event}",
        "occurred_at": isoformat(now),
        "type": kind,
        "line_items": lines,
        **extra,
    }
    order.next_event += 1
    order.document["fulfillment"].setdefault("events", []).append(event)


def _expectation_lines(order: OrderState, method_type: str) -> list[dict[str, Any]]:
    for expectation in order.document["fulfillment"].get("expectations", []):
        if expectation["method_type"] == method_type:
            return [dict(line) for line in expectation["line_items"]]
    return []


def _fulfil(order: OrderState, lines: list[dict[str, Any]]) -> None:
    ids = {line["id"] for line in lines}
    for line in order.document["line_items"]:
        if line["id"] in ids:
            line["quantity"]["fulfilled"] = line["quantity"]["total"]
            line["status"] = derive_line_item_status(OrderQuantity.model_validate(line["quantity"])).value


def has_event(order: OrderState, kind: str) -> bool:
    return any(event["type"] == kind for event in order.document["fulfillment"].get("events", []))


def ship(order: OrderState, now: dt.datetime) -> bool:
    """Record the shipment (and the e-mail delivery of digital items); ``False`` if already shipped."""
    if has_event(order, "shipped") or (has_event(order, "delivered") and not _expectation_lines(order, "shipping")):
        return False
    physical = _expectation_lines(order, "shipping")
    digital = _expectation_lines(order, "digital")
    if physical:
        number = _tracking_number(order.id, order.next_event)
        _event(
            order,
            "shipped",
            physical,
            now,
            tracking_number=number,
            tracking_url=f"https://tracking.example/track/{number}",
            carrier="USPS",
            description="Handed to the carrier",
        )
        _fulfil(order, physical)
    if digital:
        _event(order, "delivered", digital, now, description="Sent by e-mail")
        _fulfil(order, digital)
    return True


def deliver(order: OrderState, now: dt.datetime) -> bool:
    """Record the delivery of shipped items; ``False`` if not shipped yet or already delivered."""
    physical = _expectation_lines(order, "shipping")
    if not physical or not has_event(order, "shipped"):
        return False
    delivered = [
        event
        for event in order.document["fulfillment"].get("events", [])
        if event["type"] == "delivered" and event.get("tracking_number")
    ]
    if delivered:
        return False
    shipped = next(event for event in order.document["fulfillment"]["events"] if event["type"] == "shipped")
    _event(
        order,
        "delivered",
        physical,
        now,
        tracking_number=shipped["tracking_number"],
        tracking_url=shipped["tracking_url"],
        carrier=shipped["carrier"],
        description="Delivered to the front door",
    )
    return True
