"""UCP checkout responses (schemas/shopping/checkout.json and types/*, release 2026-04-08).

Responses a merchant sends are :class:`~contracts.ucp._base.OpenModel`\\ s
(unknown extension members are kept, OVR-51). The fulfillment and discount
extensions are modelled inline (``fulfillment``, ``discounts``), because every
merchant that matters to us negotiates them; other extensions travel as extra
members of responses. Request bodies are in :mod:`contracts.ucp.checkout_requests`,
statuses in :mod:`contracts.ucp.statuses`, messages in :mod:`contracts.ucp.messages`
and the totals' sign and sum rules in :mod:`contracts.ucp.totals`.

A platform must not act on a merchant response that breaks a schema rule
pydantic cannot express, so they are checked here too: ``continue_url`` with
at least one ``requires_*`` error when ``status`` is ``requires_escalation``
(CHK-09, CHK-29), beside the totals rules (CHK-41, CHK-42).

``ucp.status`` is the shape discriminator (CHK-07): use
:func:`parse_checkout_response`, which returns either a :class:`Checkout` or an
:class:`ErrorResponse` and never parses an error as a checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    model_validator,
)

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.ucp._base import (
    MAX_LIST_ITEMS,
    Identifier,
    OpenModel,
    ReverseDomainName,
    Text,
    Version,
    parse_model,
)
from contracts.ucp.messages import Message, MessageError
from contracts.ucp.profile import Capability, PaymentHandler, Service
from contracts.ucp.statuses import CheckoutStatus, ResponseStatus
from contracts.ucp.totals import Amount, Quantity, Total, Totals

# ---------------------------------------------------------------------------
# shared entities


class Link(OpenModel):
    """A legal or policy link (types/link.json); ``type`` is open (well-known: terms_of_service ...)."""

    type: str
    url: str
    title: str | None = None


class Buyer(OpenModel):
    """The buyer (types/buyer.json); open for extension members."""

    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    phone_number: Text | None = None


class Context(OpenModel):
    """Provisional buyer signals for localisation (types/context.json); never authoritative."""

    address_country: Text | None = None
    address_region: Text | None = None
    postal_code: Text | None = None
    intent: Text | None = None
    language: Text | None = None
    currency: Text | None = None
    eligibility: list[ReverseDomainName] | None = Field(default=None, max_length=MAX_LIST_ITEMS)

    @model_validator(mode="after")
    def _unique_claims(self) -> Context:
        if self.eligibility is not None and len(set(self.eligibility)) != len(self.eligibility):
            raise ValueError("eligibility claims must be unique")
        return self


Signals = dict[ReverseDomainName, Any]
"""Observed environment data keyed by reverse-domain names (types/signals.json)."""
Attribution = dict[str, str]
"""Referral parameters, every value a string (types/attribution.json)."""


class PostalAddress(OpenModel):
    extended_address: Text | None = None
    street_address: Text | None = None
    address_locality: Text | None = None
    address_region: Text | None = None
    address_country: Text | None = None
    postal_code: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    phone_number: Text | None = None


class OrderConfirmation(OpenModel):
    """What a completed checkout says about its order (types/order_confirmation.json, CMP-02)."""

    id: str
    permalink_url: str
    label: str | None = None


# ---------------------------------------------------------------------------
# items and line items (responses)


class Item(OpenModel):
    id: str
    title: str
    price: Amount
    image_url: str | None = None


class LineItem(OpenModel):
    id: str
    item: Item
    quantity: Quantity
    totals: list[Total]
    parent_id: str | None = None


# ---------------------------------------------------------------------------
# fulfillment extension (fulfillment.json, types/fulfillment*.json)


class ShippingDestination(PostalAddress):
    id: str


class RetailLocation(OpenModel):
    id: str
    name: str
    address: PostalAddress | None = None


def destination_kind(value: Any) -> str:
    # A retail location is the only destination with a name (types/retail_location.json).
    has_name = "name" in value if isinstance(value, Mapping) else hasattr(value, "name")
    return "retail" if has_name else "shipping"


FulfillmentDestination = Annotated[
    Annotated[ShippingDestination, Tag("shipping")] | Annotated[RetailLocation, Tag("retail")],
    Discriminator(destination_kind),
]


class FulfillmentOption(OpenModel):
    id: str
    title: str
    totals: list[Total]
    description: str | None = None
    carrier: str | None = None
    earliest_fulfillment_time: Annotated[AwareDatetime, Field(strict=False)] | None = None
    latest_fulfillment_time: Annotated[AwareDatetime, Field(strict=False)] | None = None


class FulfillmentGroup(OpenModel):
    id: str
    line_item_ids: list[str]
    options: list[FulfillmentOption] | None = None
    selected_option_id: str | None = None


class FulfillmentMethod(OpenModel):
    id: str
    type: str  # shipping | pickup today; open so a new method type is not a parse failure (OVR-51)
    line_item_ids: list[str]
    destinations: list[FulfillmentDestination] | None = None
    selected_destination_id: str | None = None
    groups: list[FulfillmentGroup] | None = None


class FulfillmentAvailableMethod(OpenModel):
    type: str
    line_item_ids: list[str]
    fulfillable_on: str | None = None
    description: str | None = None


class Fulfillment(OpenModel):
    methods: list[FulfillmentMethod] | None = None
    available_methods: list[FulfillmentAvailableMethod] | None = None


# ---------------------------------------------------------------------------
# discount extension (discount.json)


class Allocation(OpenModel):
    path: str
    amount: Amount


class AppliedDiscount(OpenModel):
    title: str
    amount: Amount
    code: str | None = None
    automatic: StrictBool | None = None
    method: Literal["each", "across"] | None = None
    priority: Annotated[StrictInt, Field(ge=1)] | None = None
    provisional: StrictBool | None = None
    eligibility: ReverseDomainName | None = None
    allocations: list[Allocation] | None = None

    @model_validator(mode="after")
    def _allocations_sum(self) -> AppliedDiscount:
        if self.allocations and sum(item.amount for item in self.allocations) != self.amount:
            raise ValueError("allocations must add up to the discount amount (DSC-12)")
        return self


class Discounts(OpenModel):
    codes: list[str] | None = None
    applied: list[AppliedDiscount] | None = None


# ---------------------------------------------------------------------------
# payment (payment.json, types/payment_instrument.json, types/payment_credential.json)


class PaymentCredential(OpenModel):
    """Handler-defined credential; only ``type`` is common (types/payment_credential.json)."""

    type: str


class PaymentInstrument(OpenModel):
    """An instrument with its handler and selection state; handlers add members (open)."""

    id: Identifier
    handler_id: Identifier
    type: Identifier
    billing_address: PostalAddress | None = None
    credential: PaymentCredential | None = None
    display: dict[str, Any] | None = None
    selected: StrictBool | None = None


class Payment(OpenModel):
    instruments: list[PaymentInstrument] | None = None


# ---------------------------------------------------------------------------
# the response envelope (ucp.json response_*_schema)


class ResponseMetadata(OpenModel):
    """The ``ucp`` object every response carries: negotiated version and active capabilities (OVR-26)."""

    version: Version
    status: ResponseStatus = ResponseStatus.SUCCESS
    services: dict[str, list[Service]] | None = None
    capabilities: dict[str, list[Capability]] | None = None
    payment_handlers: dict[str, list[PaymentHandler]] | None = None


class CheckoutMetadata(ResponseMetadata):
    """Checkout responses must list their payment handlers (ucp.json ``response_checkout_schema``)."""

    payment_handlers: dict[str, list[PaymentHandler]]


class Checkout(OpenModel):
    """A checkout session as the merchant reports it (checkout.json + fulfillment + discount)."""

    ucp: CheckoutMetadata
    id: str
    status: CheckoutStatus
    currency: str
    line_items: list[LineItem]
    totals: Totals
    links: list[Link]
    messages: list[Message] | None = None
    buyer: Buyer | None = None
    context: Context | None = None
    signals: Signals | None = None
    attribution: Attribution | None = None
    expires_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
    continue_url: str | None = None
    payment: Payment | None = None
    order: OrderConfirmation | None = None
    fulfillment: Fulfillment | None = None
    discounts: Discounts | None = None

    @model_validator(mode="after")
    def _status_rules(self) -> Checkout:
        if self.ucp.status is not ResponseStatus.SUCCESS:
            raise ValueError("a checkout carries ucp.status 'success'; errors are ErrorResponse")
        if self.status is CheckoutStatus.REQUIRES_ESCALATION:
            if not self.continue_url:
                raise ValueError("requires_escalation needs a continue_url (CHK-29)")
            if not any(
                isinstance(message, MessageError) and message.severity.requires_escalation
                for message in self.messages or []
            ):
                raise ValueError("requires_escalation needs a requires_buyer_* error message (CHK-09)")
        if self.status is CheckoutStatus.COMPLETED and self.order is None:
            raise ValueError("a completed checkout carries its order (CMP-02)")
        return self


class ErrorResponse(BaseModel):
    """No resource, only messages (types/error_response.json; ``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")

    ucp: ResponseMetadata
    messages: Annotated[list[Message], Field(min_length=1)]
    continue_url: str | None = None

    @model_validator(mode="after")
    def _is_error(self) -> ErrorResponse:
        if self.ucp.status is not ResponseStatus.ERROR:
            raise ValueError("an error response carries ucp.status 'error'")
        return self


def response_status(document: object) -> ResponseStatus:
    """Read ``ucp.status`` (default ``success``) without trusting anything else in the document."""
    ucp = document.get("ucp") if isinstance(document, Mapping) else None
    raw = ucp.get("status", ResponseStatus.SUCCESS.value) if isinstance(ucp, Mapping) else None
    if isinstance(raw, str) and raw in ResponseStatus.__members__.values():
        return ResponseStatus(raw)
    raise UcpError("response has no valid ucp.status", code=ErrorCode.MERCHANT_RESPONSE_INVALID, pointer="/ucp/status")


def parse_checkout_response(
    document: object, *, code: ErrorCode = ErrorCode.MERCHANT_RESPONSE_INVALID
) -> Checkout | ErrorResponse:
    """Branch on ``ucp.status`` first (CHK-07), then validate the matching shape."""
    if response_status(document) is ResponseStatus.ERROR:
        return parse_model(ErrorResponse, document, code=code, what="error response")
    return parse_model(Checkout, document, code=code, what="checkout")
