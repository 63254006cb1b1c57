"""The session index: a projection of each checkout session for listing (DESIGN.md "Storage", invariant 9).

The workflow stays authoritative; this table only answers "which sessions
does platform P have, newest status, filter by status/merchant" without
asking Temporal. Writers (activities) send a ``version`` that grows with the
workflow's progress (e.g. its audit ``seq``): an update with a version not
greater than the stored one is a replay or arrived late and changes nothing,
so retries and out-of-order deliveries cannot move a session backwards.
``platform_id``, ``merchant_id`` and ``created_at`` are fixed at the first
write; a later write naming another owner is an ``audit_conflict``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.audit import ID_PATTERN, UtcInstant

CheckoutStatus = Literal[
    "incomplete",
    "requires_escalation",
    "ready_for_complete",
    "complete_in_progress",
    "completed",
    "canceled",
]


class SessionUpsert(BaseModel):
    """One write to the index; ``occurred_at`` becomes ``created_at`` on the first write, ``updated_at`` after."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: str = Field(pattern=ID_PATTERN)
    platform_id: str = Field(pattern=ID_PATTERN)
    merchant_id: str = Field(pattern=ID_PATTERN)
    status: CheckoutStatus
    merchant_checkout_id: str | None = Field(default=None, max_length=255)
    order_id: str | None = Field(default=None, max_length=255)
    occurred_at: UtcInstant
    version: int = Field(ge=0, le=2**62)


class SessionRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    platform_id: str
    merchant_id: str
    merchant_checkout_id: str | None
    order_id: str | None = None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SessionFilters(BaseModel):
    """Filters of ``GET /checkout-sessions``; part of the cursor scope, so a cursor only pages one listing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CheckoutStatus | None = None
    merchant_id: str | None = Field(default=None, pattern=ID_PATTERN)

    def scope(self, platform_id: str) -> str:
        return f"sessions:{platform_id}:status={self.status or '*'}:merchant={self.merchant_id or '*'}"
