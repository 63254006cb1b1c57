"""The workflow's public vocabulary: its start input, update/signal/query payloads and results.

The API imports these to talk to ``CheckoutSessionWorkflow``; one model per
message so each can evolve without breaking recorded histories.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from activities.types import AuditRecord, MerchantProfileSummary, PlatformNotification, SessionIndexRecord

# The names the API and operators address the workflow by; recorded histories carry them: never rename one.
WORKFLOW_TYPE: Final = "CheckoutSession"
VIEW_QUERY: Final = "view"
ORDER_EVENT_SIGNAL: Final = "order_event"
ORDER_READ_UPDATE: Final = "read_order"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Operation(StrEnum):
    """Platform-visible lifecycle operations; each is a Workflow Update named after it."""

    CREATE = "create"
    UPDATE = "update"
    COMPLETE = "complete"
    CANCEL = "cancel"
    REFRESH = "refresh"


class PolicySnapshot(_Model):
    """The platform's effective spend policy at this merchant, frozen when the session starts."""

    allowed_currencies: list[str] | None = None
    max_total: int | None = None


class OperationRequest(_Model):
    """A platform request as the verified API hands it to the workflow."""

    idempotency_key: str
    merchant_id: str | None = Field(
        default=None, description="The merchant the platform addressed; another merchant's session is not found."
    )
    body_digest: str = Field(
        description="Content-Digest (sha-256) of the body's canonical JSON: equal meaning, equal digest (invariant 2)."
    )
    body: dict[str, Any] | None = None


class OperationResult(_Model):
    """What the API answers, byte-for-byte the same on every replay of the same key."""

    operation: Operation
    http_status: int
    body: dict[str, Any]
    request_digest: str


class OrderEvent(_Model):
    """A merchant order webhook, already signature-verified by the API."""

    webhook_id: str
    received_at: dt.datetime
    order: dict[str, Any]


class OrderRead(_Model):
    """A platform's GET of its order, proxied to the merchant by the session's workflow (no Idempotency-Key)."""

    merchant_id: str
    order_id: str


class OrderReadResult(_Model):
    """The merchant's signed answer (the order or a UCP error envelope), or the frozen error of a failed read."""

    http_status: int
    body: dict[str, Any]


class StatusChange(_Model):
    status: str
    at: dt.datetime
    cause: str


class IdempotencyRecord(_Model):
    operation: Operation
    digest: str
    result: OperationResult | None = None


class CarriedState(_Model):
    """Everything a continued-as-new run needs; histories stay small, state stays whole."""

    merchant: MerchantProfileSummary | None
    merchant_checkout_id: str | None
    checkout: dict[str, Any] | None
    status: str | None
    created: bool
    closed_at: dt.datetime | None
    created_at: dt.datetime
    order: dict[str, Any] | None
    order_event_ids: list[str]
    status_history: list[StatusChange]
    idempotency: dict[str, IdempotencyRecord]
    merchant_call_seq: int
    audit_seq: int
    notification_seq: int
    pending_audit: list[AuditRecord | SessionIndexRecord]
    pending_notifications: list[PlatformNotification]
    reconcile: bool = Field(default=False, description="A complete's outcome is still unknown: keep polling.")


class SessionStart(_Model):
    platform_id: str
    session_id: str
    merchant_id: str
    policy: PolicySnapshot = Field(default_factory=PolicySnapshot)
    platform_webhook_url: str | None = None
    platform_webhook_allow_insecure_loopback: bool = False
    continue_as_new_after_events: int = Field(default=8_000, ge=100, description="History bound per run.")
    merchant_call_timeout_seconds: int = Field(
        default=30, ge=1, le=300, description="start_to_close of one merchant call attempt (a crash retries after it)."
    )
    carried: CarriedState | None = None


class SessionView(_Model):
    """The Query answer: what an operator or the API needs to see without touching the merchant."""

    platform_id: str
    session_id: str
    merchant_id: str
    merchant_checkout_id: str | None
    status: str | None
    checkout: dict[str, Any] | None = Field(description="The merchant's checkout as presented to the platform.")
    order: dict[str, Any] | None
    status_history: list[StatusChange]
    pending_actions: list[str]
    created_at: dt.datetime
    closed_at: dt.datetime | None
