"""UCP 2026-04-08 wire models shared by the connector and the reference merchant.

* :mod:`contracts.ucp.checkout` — checkout sessions, the fulfillment and
  discount extensions, error responses; :mod:`contracts.ucp.checkout_requests`
  — request bodies; :mod:`contracts.ucp.statuses`, :mod:`contracts.ucp.messages`,
  :mod:`contracts.ucp.totals` — the parts responses and orders share.
* :mod:`contracts.ucp.order` — orders and order-event webhook payloads.
* :mod:`contracts.ucp.profile` — discovery profiles, capability entries,
  payment handlers, ``signing_keys``, and the capability intersection.
* :mod:`contracts.ucp.rest` — the REST operations: method and path of each.

Models of what counterparties send keep unknown members (open for
extension); request models are strict. Validation failures are
:class:`~contracts.errors.UcpError`\\ s with a frozen code and a JSON pointer.
"""

from contracts.ucp._base import OpenModel, StrictModel, dump, json_pointer, parse_model
from contracts.ucp.checkout import Checkout, ErrorResponse, ResponseMetadata, parse_checkout_response
from contracts.ucp.checkout_requests import (
    CheckoutCancelRequest,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from contracts.ucp.messages import Message, MessageError, MessageInfo, MessageType, MessageWarning, Severity
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
from contracts.ucp.statuses import CheckoutStatus, ResponseStatus
from contracts.ucp.totals import Total, totals_add_up

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
