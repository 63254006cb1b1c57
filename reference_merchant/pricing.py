"""Render a checkout from its state: line items, discounts, shipping, tax, totals, messages and status.

A pure function of (state, catalog, configuration, active extensions): the
same inputs give the same body byte for byte (CHK-13). The status of an open
session is *derived* from the messages, as checkout.md describes:

* any error with severity ``requires_buyer_input``/``requires_buyer_review``
  -> ``requires_escalation`` (CHK-09; ``continue_url`` is always present);
* else any other error -> ``incomplete``;
* else -> ``ready_for_complete``.

``complete_in_progress``, ``completed`` and ``canceled`` are lifecycle facts
set by :mod:`reference_merchant.service`, never derived.

Money (minor units, integers only): line subtotal = price x quantity; codes
are applied by :mod:`reference_merchant.discounts`; shipping is the selected option;
tax is ``tax_rate_bps`` of (goods after discounts + shipping), rounded half
up; the total is the sum of every other entry (checkout.md "Verification").

Assumptions where the spec is silent:

* One shipping method groups every physical item in one package (a single
  group per method, FUL-10); ``line_item_ids`` a platform sends for methods
  are ignored. Pickup is not offered.
* When exactly one destination is known it is selected automatically; a
  shipping option is never preselected, because it changes the price.
* Without the fulfillment extension, physical goods need the merchant's own
  checkout page: ``requires_buyer_input`` (code ``shipping_details_required``).
* ``attribution`` is kept for the order snapshot (ORD-05) but never echoed in
  the checkout, whose content must not depend on it (CHK-51).
* Escalations the buyer resolved on the merchant's site (see
  ``ReferenceMerchant.complete_buyer_handoff``) stay resolved for the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts import ErrorCode as E
from contracts.ucp import DISCOUNT, FULFILLMENT, CheckoutStatus, Severity
from reference_merchant import lifecycle
from reference_merchant.catalog import Catalog, ShippingOption
from reference_merchant.clock import isoformat
from reference_merchant.config import MerchantConfig
from reference_merchant.discounts import PricedLine, apply_discounts
from reference_merchant.messages import derive_status, error, info, warning
from reference_merchant.state import CheckoutState

METHOD_ID = "shipping_1"
GROUP_ID = "package_1"


@dataclass
class Rendered:
    """A checkout body without its ``ucp`` envelope, and the status derived for it."""

    body: dict[str, Any]
    status: CheckoutStatus
    messages: list[dict[str, Any]] = field(default_factory=list)


def continue_url(config: MerchantConfig, state: CheckoutState) -> str:
    """The buyer page of this checkout, with its hand-off token (:mod:`reference_merchant.handoff`)."""
    return f"{config.base_url}/checkout/{state.id}?token={state.handoff_token}"


def order_permalink(config: MerchantConfig, order_id: str) -> str:
    return f"{config.base_url}/orders/{order_id}"


def _priced_lines(state: CheckoutState, catalog: Catalog) -> list[PricedLine]:
    priced = []
    for index, line in enumerate(state.lines):
        item = catalog.item(line.item_id)
        if item is not None:  # the service only keeps known items; stay total if the catalog shrank
            priced.append(PricedLine(line=line, item=item, index=index))
    return priced


def _fulfillment(
    state: CheckoutState,
    lines: list[PricedLine],
    config: MerchantConfig,
    catalog: Catalog,
    messages: list[dict[str, Any]],
) -> tuple[dict[str, Any], ShippingOption | None]:
    physical_ids = [line.line.id for line in lines if line.item.physical]
    chosen = state.fulfillment
    destinations = [{"id": destination.id, **destination.address} for destination in chosen.destinations]
    selected_id = chosen.selected_destination_id
    if selected_id is None and len(chosen.destinations) == 1:
        selected_id = chosen.destinations[0].id
    method: dict[str, Any] = {"id": METHOD_ID, "type": "shipping", "line_item_ids": physical_ids}
    if destinations:
        method["destinations"] = destinations
    group: dict[str, Any] = {"id": GROUP_ID, "line_item_ids": physical_ids}
    method["groups"] = [group]
    base = "$.fulfillment.methods[0]"

    selected = next((d for d in chosen.destinations if d.id == selected_id), None)
    if not chosen.destinations:
        messages.append(
            error(E.MISSING, "A shipping address is required.", Severity.RECOVERABLE, f"{base}.destinations")
        )
        return {"methods": [method]}, None
    if selected is None:
        messages.append(
            error(E.MISSING, "Select a shipping address.", Severity.RECOVERABLE, f"{base}.selected_destination_id")
        )
        return {"methods": [method]}, None
    method["selected_destination_id"] = selected.id
    position = chosen.destinations.index(selected)
    country = (selected.address.get("address_country") or "").upper()
    if country not in {code.upper() for code in config.ship_to_countries}:
        messages.append(
            error(
                E.ADDRESS_UNDELIVERABLE,
                f"We do not ship to '{country or 'an address without a country'}'.",
                Severity.RECOVERABLE,
                f"{base}.destinations[{position}]",
            )
        )
        return {"methods": [method]}, None
    group["options"] = [
        {
            "id": option.id,
            "title": option.title,
            "description": option.description,
            "carrier": option.carrier,
            "totals": [{"type": "total", "amount": option.amount}],
        }
        for option in catalog.shipping_options
    ]
    option = catalog.shipping_option(chosen.selected_option_id) if chosen.selected_option_id else None
    if option is None:
        messages.append(
            error(
                E.MISSING,
                "Select a shipping option.",
                Severity.RECOVERABLE,
                f"{base}.groups[0].selected_option_id",
            )
        )
        return {"methods": [method]}, None
    group["selected_option_id"] = option.id
    return {"methods": [method]}, option


def _line_items(lines: list[PricedLine]) -> list[dict[str, Any]]:
    rendered = []
    for line in lines:
        item: dict[str, Any] = {"id": line.item.id, "title": line.item.title, "price": line.item.price}
        if line.item.image_url:
            item["image_url"] = line.item.image_url
        totals: list[dict[str, Any]] = [{"type": "subtotal", "amount": line.subtotal}]
        if line.discount:
            totals.append({"type": "items_discount", "amount": -line.discount})
        totals.append({"type": "total", "amount": line.subtotal - line.discount})
        rendered.append({"id": line.line.id, "item": item, "quantity": line.line.quantity, "totals": totals})
    return rendered


def _links(config: MerchantConfig) -> list[dict[str, Any]]:
    return [
        {"type": "terms_of_service", "url": f"{config.base_url}/policies/terms", "title": "Terms of Service"},
        {"type": "privacy_policy", "url": f"{config.base_url}/policies/privacy", "title": "Privacy Policy"},
        {"type": "refund_policy", "url": f"{config.base_url}/policies/refunds", "title": "Refund Policy"},
    ]


def render_checkout(
    state: CheckoutState, catalog: Catalog, config: MerchantConfig, extensions: frozenset[str] | set[str]
) -> Rendered:
    """The checkout body (``ucp`` excluded) and the status its messages imply for an open session."""
    messages: list[dict[str, Any]] = [notice.model_dump(exclude_none=True) for notice in state.notices]
    lines = _priced_lines(state, catalog)
    subtotal = sum(line.subtotal for line in lines)

    applied: list[dict[str, Any]] = []
    order_discount = 0
    if DISCOUNT in extensions and state.discount_codes is not None:
        applied, order_discount = apply_discounts(state.discount_codes, lines, catalog, messages)
    items_discount = sum(line.discount for line in lines)

    body: dict[str, Any] = {"id": state.id}
    shipping: ShippingOption | None = None
    needs_shipping = any(line.item.physical for line in lines)
    if needs_shipping and FULFILLMENT in extensions:
        body["fulfillment"], shipping = _fulfillment(state, lines, config, catalog, messages)
    elif needs_shipping:
        messages.append(
            error(
                "shipping_details_required",
                "Enter the shipping details on the merchant's site.",
                Severity.REQUIRES_BUYER_INPUT,
            )
        )

    goods = subtotal - items_discount - order_discount
    shipping_amount = shipping.amount if shipping else 0
    tax = ((goods + shipping_amount) * config.tax_rate_bps + 5_000) // 10_000
    total = goods + shipping_amount + tax
    totals: list[dict[str, Any]] = [{"type": "subtotal", "display_text": "Subtotal", "amount": subtotal}]
    if items_discount:
        totals.append({"type": "items_discount", "display_text": "Item Discounts", "amount": -items_discount})
    if order_discount:
        totals.append({"type": "discount", "display_text": "Order Discount", "amount": -order_discount})
    if shipping:
        totals.append({"type": "fulfillment", "display_text": shipping.title, "amount": shipping.amount})
    totals.append({"type": "tax", "display_text": "Tax", "amount": tax})
    totals.append({"type": "total", "display_text": "Total", "amount": total})

    buyer = state.buyer or {}
    email = buyer.get("email")
    if not isinstance(email, str) or not email:
        messages.append(error(E.MISSING, "Buyer email is required.", Severity.RECOVERABLE, "$.buyer.email"))
    elif "@" not in email:
        messages.append(error("invalid_email", "Buyer email is not valid.", Severity.RECOVERABLE, "$.buyer.email"))

    for line in lines:
        if line.item.requires_buyer_input and "engraving_required" not in state.cleared_escalations:
            messages.append(
                error(
                    "engraving_required",
                    line.item.requires_buyer_input,
                    Severity.REQUIRES_BUYER_INPUT,
                    f"$.line_items[{line.index}]",
                )
            )
        if line.item.disclosure:
            messages.append(
                warning(
                    "allergens",
                    line.item.disclosure,
                    f"$.line_items[{line.index}]",
                    presentation="disclosure",
                    content_type="markdown",
                )
            )
    if lines and total >= config.review_threshold and "high_value_review" not in state.cleared_escalations:
        messages.append(
            error(
                "high_value_review",
                "Orders of this value need the buyer's review on the merchant's site.",
                Severity.REQUIRES_BUYER_REVIEW,
            )
        )
    if state.pending_escalation == "requires_3ds":
        messages.append(
            error(E.REQUIRES_3DS, "The bank requires verification.", Severity.REQUIRES_BUYER_INPUT, "$.payment")
        )
    for index, claim in enumerate((state.context or {}).get("eligibility") or []):
        messages.append(
            warning(
                "eligibility_not_accepted",
                f"The claim '{claim}' is not recognised by this merchant.",
                f"$.context.eligibility[{index}]",
            )
        )
    if not lines and not any(message["type"] == "error" for message in messages):
        messages.append(error(E.MISSING, "The checkout has no items.", Severity.RECOVERABLE, "$.line_items"))

    if state.status in lifecycle.OPEN:
        status = derive_status(messages)
    else:  # what a session would need to progress no longer applies; disclosures and notes still do
        status = state.status
        messages = [message for message in messages if message["type"] != "error"]
    if state.status is CheckoutStatus.CANCELED and state.cancel_reason == "expired":
        messages.append(info("session_expired", "The checkout session expired."))
    if state.status is CheckoutStatus.COMPLETE_IN_PROGRESS:
        messages.append(info("payment_processing", "The payment is being processed."))

    body.update(
        {
            "status": status.value,
            "currency": state.currency,
            "line_items": _line_items(lines),
            "totals": totals,
            "links": _links(config),
            "expires_at": isoformat(state.expires_at),
        }
    )
    if messages:
        body["messages"] = messages
    if state.buyer is not None:
        body["buyer"] = state.buyer
    if state.context is not None:
        body["context"] = state.context
    if state.payment_instruments:
        body["payment"] = {"instruments": state.payment_instruments}
    if DISCOUNT in extensions and state.discount_codes is not None:
        body["discounts"] = {"codes": state.discount_codes, "applied": applied}
    if not status.is_terminal:
        body["continue_url"] = continue_url(config, state)
    if state.order_id is not None and status is CheckoutStatus.COMPLETED:
        body["order"] = {"id": state.order_id, "permalink_url": order_permalink(config, state.order_id)}
        if state.order_label:
            body["order"]["label"] = state.order_label
    return Rendered(body=body, status=status, messages=messages)
