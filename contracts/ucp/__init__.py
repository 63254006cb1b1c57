"""UCP 2026-04-08 wire models shared by the connector and the reference merchant.

* :mod:`contracts.ucp.checkout` — checkout sessions, messages, totals, the
  fulfillment and discount extensions, request bodies, error responses.
* :mod:`contracts.ucp.order` — orders and order-event webhook payloads.
* :mod:`contracts.ucp.profile` — discovery profiles, capability entries,
  payment handlers, ``signing_keys``, and the capability intersection.
* :mod:`contracts.ucp.rest` — the REST operations: method and path of each.

Models of what counterparties send keep unknown members (open for
extension); request models are strict. Validation failures are
:class:`~contracts.errors.UcpError`\\ s with a frozen code and a JSON pointer.
"""

from contracts.ucp._base import OpenModel, StrictModel, dump, json_pointer, parse_model
from contracts.ucp.checkout import (
    Checkout,
    CheckoutCancelRequest,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutStatus,
    CheckoutUpdateRequest,
    ErrorResponse,
    Message,
    MessageError,
    MessageInfo,
    MessageType,
    MessageWarning,
    ResponseMetadata,
    ResponseStatus,
    Severity,
    Total,
    parse_checkout_response,
    totals_add_up,
)
from contracts.ucp.order import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    Order,
    OrderEventPayload,
    OrderLineItemStatus,
    derive_line_item_status,
    parse_order_event,
    parse_order_response,
)
from contracts.ucp.profile import (
    CHECKOUT,
    DISCOUNT,
    FULFILLMENT,
    ORDER,
    SHOPPING_SERVICE,
    Capability,
    NegotiatedCapability,
    Negotiation,
    PaymentHandler,
    Profile,
    Service,
    binding_problems,
    namespace_authority,
    negotiate,
    parse_business_profile,
    parse_profile,
    response_capabilities,
)
from contracts.ucp.rest import RestOperation

__all__ = [
    "CHECKOUT",
    "DISCOUNT",
    "FULFILLMENT",
    "ORDER",
    "SHOPPING_SERVICE",
    "WEBHOOK_ID_HEADER",
    "WEBHOOK_TIMESTAMP_HEADER",
    "Capability",
    "Checkout",
    "CheckoutCancelRequest",
    "CheckoutCompleteRequest",
    "CheckoutCreateRequest",
    "CheckoutStatus",
    "CheckoutUpdateRequest",
    "ErrorResponse",
    "Message",
    "MessageError",
    "MessageInfo",
    "MessageType",
    "MessageWarning",
    "NegotiatedCapability",
    "Negotiation",
    "OpenModel",
    "Order",
    "OrderEventPayload",
    "OrderLineItemStatus",
    "PaymentHandler",
    "Profile",
    "ResponseMetadata",
    "ResponseStatus",
    "RestOperation",
    "Service",
    "Severity",
    "StrictModel",
    "Total",
    "binding_problems",
    "derive_line_item_status",
    "dump",
    "json_pointer",
    "namespace_authority",
    "negotiate",
    "parse_business_profile",
    "parse_checkout_response",
    "parse_model",
    "parse_order_event",
    "parse_order_response",
    "parse_profile",
    "response_capabilities",
    "totals_add_up",
]
