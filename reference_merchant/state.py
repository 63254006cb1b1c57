"""What the merchant remembers about a checkout and an order (persisted as JSON in the database).

The checkout *state* holds the platform's inputs and the lifecycle facts; the
response body is *rendered* from it by :mod:`reference_merchant.pricing`, so
pricing, messages and status are a pure, deterministic function of the state
and the catalog (CHK-13).

The ``handoff_token`` is the secret of the buyer page (``continue_url``,
:mod:`reference_merchant.handoff`): 192 random bits, never logged.

Signals are not persisted at all (CHK-49: a business should not keep them
beyond the transaction), and payment credentials never are either: only the
instrument's public members are kept, for echoing back (PAY-02).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.ucp import CheckoutStatus


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineState(_State):
    id: str
    item_id: str
    quantity: int


class DestinationState(_State):
    id: str
    address: dict[str, str]


class FulfillmentState(_State):
    destinations: list[DestinationState] = Field(default_factory=list)
    selected_destination_id: str | None = None
    selected_option_id: str | None = None


class NoticeState(_State):
    """A message about input the merchant had to change or refuse; shown until the next update."""

    type: str
    code: str
    content: str
    severity: str | None = None
    path: str | None = None


class CheckoutState(_State):
    id: str
    platform: str
    status: CheckoutStatus
    created_at: dt.datetime
    expires_at: dt.datetime
    currency: str
    lines: list[LineState] = Field(default_factory=list)
    next_line: int = 1
    notices: list[NoticeState] = Field(default_factory=list)
    buyer: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    attribution: dict[str, str] | None = None
    fulfillment: FulfillmentState = Field(default_factory=FulfillmentState)
    discount_codes: list[str] | None = None
    payment_instruments: list[dict[str, Any]] | None = None
    cleared_escalations: list[str] = Field(default_factory=list)
    pending_escalation: str | None = None
    completes_at: dt.datetime | None = None
    order_id: str | None = None
    order_label: str | None = None
    cancel_reason: str | None = None
    webhook_url: str | None = None
    order_capability_version: str | None = None
    ap2_checkout_mandate: str | None = Field(
        default=None, description="AP2 Mandates: the platform's checkout mandate, kept as evidence of consent."
    )
    loyalty_member_id: str | None = Field(
        default=None, description="com.example.loyalty (reference_merchant.loyalty): the buyer's loyalty account."
    )
    extensions: list[str] = Field(default_factory=list, description="Extensions active when last priced.")
    release: str = Field(default="2026-04-08", description="The UCP release the session was completed in.")
    handoff_token: str = Field(
        default_factory=lambda: secrets.token_urlsafe(24),
        description="Unguessable part of continue_url: only its holder may act on the buyer page (handoff).",
    )


class OrderState(_State):
    """The order snapshot (without its ``ucp`` envelope) plus delivery bookkeeping."""

    id: str
    checkout_id: str
    platform: str
    webhook_url: str | None
    order_capability_version: str | None
    release: str = "2026-04-08"
    document: dict[str, Any]
    next_event: int = 1
