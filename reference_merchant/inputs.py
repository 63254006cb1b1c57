"""Turn a create/update request into checkout state: the platform's inputs, resolved against the catalog.

Update is a full replacement of the writable members (checkout.md "Update
Checkout"; see :mod:`reference_merchant.service` for why). What cannot be
honoured is reported rather than refused — unknown or sold-out items are left
out with an error notice, quantities above stock are clamped with a
``quantity_adjusted`` warning — while references that cannot be resolved
(a line item ``id`` the merchant did not issue, a second or a pickup method,
a method or group id it did not issue, extension members that were not
negotiated) are ``400 validation_failed`` with a JSON pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts import ErrorCode, UcpError
from contracts.ucp import DISCOUNT, FULFILLMENT, Severity, dump
from contracts.ucp.checkout_requests import (
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
    FulfillmentInput,
    LineItemCreate,
    LineItemUpdate,
    PaymentInput,
    RetailLocationInput,
)
from reference_merchant import payments
from reference_merchant.catalog import Catalog
from reference_merchant.pricing import GROUP_ID, METHOD_ID
from reference_merchant.state import CheckoutState, DestinationState, FulfillmentState, LineState, NoticeState


def invalid(content: str, pointer: str) -> UcpError:
    return UcpError(content, code=ErrorCode.VALIDATION_FAILED, pointer=pointer)


def apply(
    state: CheckoutState,
    request: CheckoutCreateRequest | CheckoutUpdateRequest,
    catalog: Catalog,
    extensions: frozenset[str],
) -> None:
    """Replace the writable members of ``state`` with the request's."""
    if request.fulfillment is not None and FULFILLMENT not in extensions:
        raise invalid("the fulfillment extension was not negotiated", "/fulfillment")
    if request.discounts is not None and DISCOUNT not in extensions:
        raise invalid("the discount extension was not negotiated", "/discounts")
    notices: list[NoticeState] = []
    state.lines = lines(request.line_items, state, catalog, notices)
    state.notices = notices
    state.buyer = dump(request.buyer) if request.buyer is not None else None
    state.context = dump(request.context) if request.context is not None else None
    state.attribution = dict(request.attribution) if request.attribution is not None else None
    state.fulfillment = fulfillment(request.fulfillment)
    state.discount_codes = list(request.discounts.codes) if request.discounts is not None else None
    state.payment_instruments = public_payment(request.payment)
    state.extensions = sorted(extensions)


def lines(
    requested: Sequence[LineItemCreate | LineItemUpdate],
    state: CheckoutState,
    catalog: Catalog,
    notices: list[NoticeState],
) -> list[LineState]:
    """Resolve requested lines against the catalog; keep known ids, number new ones."""
    known_ids = {line.id for line in state.lines}
    used: set[str] = set()
    resolved: list[LineState] = []
    for index, line in enumerate(requested):
        line_id = getattr(line, "id", None)
        if line_id is not None and (line_id not in known_ids or line_id in used):
            raise invalid("unknown or repeated line item id", f"/line_items/{index}/id")
        item = catalog.item(line.item.id)
        if item is None:
            notices.append(
                NoticeState(
                    type="error",
                    code=ErrorCode.ITEM_UNAVAILABLE.value,
                    content=f"Item '{line.item.id[:64]}' is not available and was left out.",
                    severity=Severity.RECOVERABLE.value,
                )
            )
            continue
        if item.stock == 0:
            notices.append(
                NoticeState(
                    type="error",
                    code=ErrorCode.OUT_OF_STOCK.value,
                    content=f"'{item.title}' is out of stock and was left out.",
                    severity=Severity.RECOVERABLE.value,
                )
            )
            continue
        quantity = line.quantity
        if quantity > item.stock:
            notices.append(
                NoticeState(
                    type="warning",
                    code="quantity_adjusted",
                    content=f"Quantity adjusted: requested {quantity}, only {item.stock} available.",
                    path=f"$.line_items[{len(resolved)}].quantity",
                )
            )
            quantity = item.stock
        if line_id is None:
            line_id = f"li_{state.next_line}"
            state.next_line += 1
        used.add(line_id)
        resolved.append(LineState(id=line_id, item_id=item.id, quantity=quantity))
    return resolved


def fulfillment(requested: FulfillmentInput | None) -> FulfillmentState:
    """The shipping choice: destinations (ids kept or numbered ``dest_N``), selected destination and option."""
    if requested is None or not requested.methods:
        return FulfillmentState()
    if len(requested.methods) > 1:
        raise invalid("this merchant offers one shipping method", "/fulfillment/methods/1")
    method = requested.methods[0]
    base = "/fulfillment/methods/0"
    if method.type == "pickup":
        raise invalid("pickup is not offered", f"{base}/type")
    if method.id is not None and method.id != METHOD_ID:
        raise invalid("unknown fulfillment method id", f"{base}/id")
    destinations: list[DestinationState] = []
    for index, destination in enumerate(method.destinations or []):
        if isinstance(destination, RetailLocationInput):
            raise invalid("pickup locations are not offered", f"{base}/destinations/{index}")
        destination_id = destination.id or f"dest_{index + 1}"
        if any(existing.id == destination_id for existing in destinations):
            raise invalid("repeated destination id", f"{base}/destinations/{index}/id")
        address = destination.model_dump(exclude={"id"}, exclude_none=True)
        destinations.append(DestinationState(id=destination_id, address=address))
    option_id = None
    for index, group in enumerate(method.groups or []):
        if index > 0 or (group.id is not None and group.id != GROUP_ID):
            raise invalid("unknown fulfillment group", f"{base}/groups/{index}")
        option_id = group.selected_option_id
    return FulfillmentState(
        destinations=destinations,
        selected_destination_id=method.selected_destination_id,
        selected_option_id=option_id,
    )


def public_payment(payment: PaymentInput | None) -> list[dict[str, Any]] | None:
    """Instruments as they may be echoed: never the credential (PAY-02)."""
    if payment is None or not payment.instruments:
        return None
    return [payments.public_instrument(instrument) for instrument in payment.instruments]
