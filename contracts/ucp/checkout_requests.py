"""Checkout request bodies (the resolved request schemas: ``ucp_request`` create / update / complete).

Strict: a request refuses the members its resolved schema omits (``status``,
``totals``, ``item.title`` ...), as ``ucp-schema --strict`` does; ``id`` in an
update body is accepted because the REST examples still send it (deprecated,
the path wins). Payment instruments and the buyer stay open, as the schema has them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StrictBool, Tag

from contracts.ucp._base import MAX_LINE_ITEMS, MAX_LIST_ITEMS, Identifier, OpenModel, StrictModel, Text
from contracts.ucp.checkout import Attribution, Buyer, Context, Signals, destination_kind
from contracts.ucp.totals import Quantity


class ItemReference(StrictModel):
    """A request names an item only by ``id`` (item.json: title/price are ``ucp_request: omit``)."""

    id: Identifier


class LineItemCreate(StrictModel):
    item: ItemReference
    quantity: Quantity


class LineItemUpdate(StrictModel):
    id: Identifier | None = None
    item: ItemReference
    quantity: Quantity
    parent_id: Identifier | None = None


class PostalAddressInput(StrictModel):
    extended_address: Text | None = None
    street_address: Text | None = None
    address_locality: Text | None = None
    address_region: Text | None = None
    address_country: Text | None = None
    postal_code: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    phone_number: Text | None = None


class ShippingDestinationInput(PostalAddressInput):
    id: Identifier | None = None


class RetailLocationInput(StrictModel):
    name: Text
    address: PostalAddressInput | None = None


DestinationInput = Annotated[
    Annotated[ShippingDestinationInput, Tag("shipping")] | Annotated[RetailLocationInput, Tag("retail")],
    Discriminator(destination_kind),
]


class FulfillmentGroupInput(StrictModel):
    id: Identifier | None = None
    selected_option_id: Identifier | None = None


class FulfillmentMethodInput(StrictModel):
    id: Identifier | None = None
    type: Literal["shipping", "pickup"] | None = None
    line_item_ids: list[Identifier] | None = Field(default=None, max_length=MAX_LINE_ITEMS)
    destinations: list[DestinationInput] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    selected_destination_id: Identifier | None = None
    groups: list[FulfillmentGroupInput] | None = Field(default=None, max_length=MAX_LIST_ITEMS)


class FulfillmentInput(StrictModel):
    methods: list[FulfillmentMethodInput] | None = Field(default=None, max_length=MAX_LIST_ITEMS)


class DiscountsInput(StrictModel):
    """Replacement semantics: the codes sent replace earlier ones; ``[]`` clears them (DSC-03)."""

    codes: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(max_length=MAX_LIST_ITEMS)


class PaymentCredentialInput(OpenModel):
    type: Identifier


class PaymentInstrumentInput(OpenModel):
    """Open: payment handlers define instrument members (types/payment_instrument.json)."""

    id: Identifier
    handler_id: Identifier
    type: Identifier
    billing_address: PostalAddressInput | None = None
    credential: PaymentCredentialInput | None = None
    display: dict[str, Any] | None = None
    selected: StrictBool | None = None


class PaymentInput(StrictModel):
    instruments: list[PaymentInstrumentInput] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


class BuyerInput(Buyer):
    """Buyer is open in the schema too (``additionalProperties: true``)."""


class _CheckoutInput(StrictModel):
    buyer: BuyerInput | None = None
    context: Context | None = None
    signals: Signals | None = None
    attribution: Attribution | None = None
    payment: PaymentInput | None = None
    fulfillment: FulfillmentInput | None = None
    discounts: DiscountsInput | None = None


class CheckoutCreateRequest(_CheckoutInput):
    """Body of ``POST /checkout-sessions``."""

    line_items: list[LineItemCreate] = Field(min_length=1, max_length=MAX_LINE_ITEMS)


class CheckoutUpdateRequest(_CheckoutInput):
    """Body of ``PUT /checkout-sessions/{id}``: a full replacement of the writable fields (CHK-15)."""

    id: Identifier | None = None  # deprecated: the path names the session
    line_items: list[LineItemUpdate] = Field(min_length=1, max_length=MAX_LINE_ITEMS)


class CheckoutCompleteRequest(StrictModel):
    """Body of ``POST /checkout-sessions/{id}/complete``: payment is required, the cart is not resent."""

    payment: PaymentInput
    signals: Signals | None = None
    attribution: Attribution | None = None


class CheckoutCancelRequest(StrictModel):
    """Body of ``POST /checkout-sessions/{id}/cancel``: empty (``{}``) in the spec's example."""
