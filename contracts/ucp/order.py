"""UCP orders and order-event webhooks (schemas/shopping/order.json, order.md, order-rest.md).

The order is a **current-state snapshot**: ``GET /orders/{id}`` and every
webhook carry the full entity, never a delta (ORD-06, ORD-24), so a receiver
replaces what it stored rather than merging. Orders are sent by merchants and
so are open for extension members (OVR-51).

Webhook payload (order.md "Order Event Webhook"): the body is the order entity
itself; the spec's example adds ``event_id`` and ``created_time`` beside the
order members (requirements note D7), which :class:`OrderEventPayload` models
as optional. The authoritative event identity and time are the Standard
Webhooks headers ``Webhook-Id`` and ``Webhook-Timestamp`` (ORD-18); a sender
that includes ``event_id`` should make it equal to ``Webhook-Id``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AwareDatetime, Field, StrictInt, model_validator

from contracts.error_codes import ErrorCode
from contracts.ucp._base import OpenModel, parse_model
from contracts.ucp.checkout import (
    Attribution,
    ErrorResponse,
    Item,
    PostalAddress,
    ResponseMetadata,
    response_status,
)
from contracts.ucp.messages import Message
from contracts.ucp.statuses import ResponseStatus
from contracts.ucp.totals import Total, Totals

WEBHOOK_ID_HEADER: Final = "Webhook-Id"
WEBHOOK_TIMESTAMP_HEADER: Final = "Webhook-Timestamp"

Count = Annotated[StrictInt, Field(ge=0)]


class OrderLineItemStatus(StrEnum):
    """Derived from the quantities (order.md "Status Derivation", ORD-04)."""

    PROCESSING = "processing"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"
    REMOVED = "removed"


class OrderQuantity(OpenModel):
    total: Count
    fulfilled: Count
    original: Count | None = None


def derive_line_item_status(quantity: OrderQuantity) -> OrderLineItemStatus:
    """``removed`` if nothing is left, ``fulfilled`` when all is, ``partial`` when some is, else ``processing``."""
    if quantity.total == 0:
        return OrderLineItemStatus.REMOVED
    if quantity.fulfilled >= quantity.total:
        return OrderLineItemStatus.FULFILLED
    if quantity.fulfilled > 0:
        return OrderLineItemStatus.PARTIAL
    return OrderLineItemStatus.PROCESSING


class OrderLineItem(OpenModel):
    id: str
    item: Item
    quantity: OrderQuantity
    totals: list[Total]
    status: OrderLineItemStatus
    parent_id: str | None = None


class LineItemQuantity(OpenModel):
    """A reference to a line item and how many of it an expectation or event covers."""

    id: str
    quantity: Annotated[StrictInt, Field(ge=1)]


class Expectation(OpenModel):
    """A buyer-facing promise of when/how items arrive (types/expectation.json)."""

    id: str
    line_items: list[LineItemQuantity]
    method_type: str  # shipping | pickup | digital
    destination: PostalAddress
    description: str | None = None
    fulfillable_on: str | None = None


class FulfillmentEvent(OpenModel):
    """An append-only record of what happened to a shipment; ``type`` is an open string (ORD-03)."""

    id: str
    occurred_at: Annotated[AwareDatetime, Field(strict=False)]
    type: str
    line_items: list[LineItemQuantity]
    tracking_number: str | None = None
    tracking_url: str | None = None
    carrier: str | None = None
    description: str | None = None


class AdjustmentLineItem(OpenModel):
    id: str
    quantity: StrictInt  # signed: negative for returns


class AdjustmentStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class Adjustment(OpenModel):
    """A post-order change such as a refund (types/adjustment.json); ``type`` is open."""

    id: str
    type: str
    occurred_at: Annotated[AwareDatetime, Field(strict=False)]
    status: AdjustmentStatus
    line_items: list[AdjustmentLineItem] | None = None
    totals: list[Total] | None = None
    description: str | None = None


class OrderFulfillment(OpenModel):
    expectations: list[Expectation] | None = None
    events: list[FulfillmentEvent] | None = None


class Order(OpenModel):
    """The full order entity (order.json)."""

    ucp: ResponseMetadata
    id: str
    checkout_id: str
    permalink_url: str
    line_items: list[OrderLineItem]
    fulfillment: OrderFulfillment
    currency: str
    totals: Totals
    label: str | None = None
    adjustments: list[Adjustment] | None = None
    messages: list[Message] | None = None
    attribution: Attribution | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Order:
        if self.ucp.status is not ResponseStatus.SUCCESS:
            raise ValueError("an order carries ucp.status 'success'; errors are ErrorResponse")
        for line in self.line_items:
            if line.status is not derive_line_item_status(line.quantity):
                raise ValueError(f"line item {line.id} status contradicts its quantities (ORD-04)")
        return self


class OrderEventPayload(Order):
    """An order webhook body: the order snapshot, optionally with the example's event members (D7)."""

    event_id: str | None = None
    created_time: Annotated[AwareDatetime, Field(strict=False)] | None = None


def parse_order_response(
    document: object, *, code: ErrorCode = ErrorCode.MERCHANT_RESPONSE_INVALID
) -> Order | ErrorResponse:
    """``GET /orders/{id}`` answers 200 with either the order or an error envelope (ORD-10, ORD-13)."""
    if response_status(document) is ResponseStatus.ERROR:
        return parse_model(ErrorResponse, document, code=code, what="error response")
    return parse_model(Order, document, code=code, what="order")


def parse_order_event(document: object, *, code: ErrorCode = ErrorCode.MERCHANT_RESPONSE_INVALID) -> OrderEventPayload:
    """Validate a webhook body as a full order snapshot (ORD-06, ORD-24)."""
    return parse_model(OrderEventPayload, document, code=code, what="order event")
