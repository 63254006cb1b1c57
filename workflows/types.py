"""The workflow's public vocabulary: its start input, update/signal/query payloads and results.

The API imports these to talk to ``CheckoutSessionWorkflow``; one model per
message so each can evolve without breaking recorded histories.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from activities.types import MerchantProfileSummary, PlatformNotification, StorageWrite

# The names the API and operators address the workflow by; recorded histories carry them: never rename one.
WORKFLOW_TYPE: Final = "CheckoutSession"
VIEW_QUERY: Final = "view"
ORDER_EVENT_SIGNAL: Final = "order_event"
ORDER_READ_UPDATE: Final = "read_order"
# What a session started by this build does (``SessionStart.behaviour``): 0 = recorded before issue 13,
# 1 = one workflow task per operation, 2 = the workflow completes at its terminal status (issue 16.2, decision
# 0001) and post-purchase order events go to its order workflow. New behaviour is chosen at start, so old
# histories replay unchanged.
CURRENT_BEHAVIOUR: Final = 2
ONE_TASK_PER_OPERATION: Final = 1  # the first behaviour that answers each operation in one workflow task
CLOSES_AT_TERMINAL: Final = 2  # the first behaviour whose workflow completes at its terminal status
ORDER_WORKFLOW_TYPE: Final = "CheckoutOrder"
CHECKOUT_READ_UPDATE: Final = "read_checkout"


def order_workflow_id(checkout_workflow_id: str) -> str:
    """The id of the session's order workflow: derived from its checkout workflow's, one per session."""
    return f"{checkout_workflow_id}/order"


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
    merchant_id: str | None = Field(
        default=None,
        description=(
            "The merchant the session was started for, stamped by the workflow (issue 13): the API checks a "
            "deduplicated update against it without a describe call. None in results recorded before."
        ),
    )


class OrderEvent(_Model):
    """A merchant order webhook, already signature-verified by the API."""

    webhook_id: str
    received_at: dt.datetime
    order: dict[str, Any]
    event_key: str | None = Field(
        default=None, description="The signed identity (body digest) the session dedups on; Webhook-Id if absent."
    )
    webhook_timestamp: int | None = Field(default=None, description="Webhook-Timestamp: the event's unix time.")


class OrderRead(_Model):
    """A platform's GET of its order, proxied to the merchant by the session's workflow (no Idempotency-Key)."""

    merchant_id: str
    order_id: str


class CheckoutRead(_Model):
    """A platform's GET of a session waiting on its buyer or an outcome: read the merchant through (issue 11.1)."""

    merchant_id: str


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


class SessionState(BaseModel):
    """Everything a session knows, in one object: handlers change it and ``continue_as_new`` carries it whole.

    A field kept anywhere else would be silently reset in the next run (an unknown complete
    outcome would stop being polled; the outbound key sequence would restart and collide,
    invariant 4). The field names are the former ``CarriedState``'s, so a run continued by an
    earlier build still starts; fields added since have defaults for the same reason.
    """

    model_config = ConfigDict(extra="forbid")

    created: bool = Field(default=False, description="The create update has run (whatever the merchant said).")
    created_at: dt.datetime
    merchant: MerchantProfileSummary | None = None
    merchant_checkout_id: str | None = None
    checkout: dict[str, Any] | None = Field(default=None, description="The merchant's latest checkout, as it sent it.")
    status: str | None = None
    status_history: list[StatusChange] = Field(default_factory=list)
    closed_at: dt.datetime | None = None
    closed_reason: str | None = Field(default=None, description="Why a session closed without a status.")
    order: dict[str, Any] | None = None
    order_event_ids: list[str] = Field(default_factory=list, description="Recent event identities, for dedup.")
    order_timestamp: int | None = Field(default=None, description="Webhook-Timestamp of the stored order snapshot.")
    idempotency: dict[str, IdempotencyRecord] = Field(default_factory=dict, description="Platform key -> record.")
    reconcile: bool = Field(default=False, description="A complete's outcome is still unknown: keep polling.")
    polls: int = Field(default=0, description="Merchant polls since the last status change (backoff exponent).")
    last_expiry_check: dt.datetime | None = None
    merchant_call_seq: int = Field(default=0, description="Operation sequence of the outbound Idempotency-Key.")
    lost_complete_seq: int | None = Field(
        default=None,
        description="The sequence of a complete lost after the merchant placed its order, until one claims it (11.5).",
    )
    audit_seq: int = 0
    notification_seq: int = 0
    pending_audit: list[StorageWrite] = Field(
        default_factory=list, description="Audit events and index rows not yet stored, in decision order."
    )
    pending_notifications: list[PlatformNotification] = Field(default_factory=list)


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
    carried: SessionState | None = Field(default=None, description="The state a continued run resumes.")
    answer_within_seconds: float | None = Field(
        default=None, gt=0, description="The API's wait bound: a local first attempt ends within half of it."
    )
    behaviour: int = Field(
        default=0, ge=0, description="The workflow behaviour the session started with (CURRENT_BEHAVIOUR)."
    )
    merchant: MerchantProfileSummary | None = Field(
        default=None,
        description=(
            "The merchant's profile as the API negotiated it for the create (issue 13: the create needs no "
            "discovery activity); None: the workflow discovers it, with the discovery activity's retries."
        ),
    )


class ClosedSession(_Model):
    """A finished session as its workflow closed: its start (without carried state) and its whole state.

    The result of a checkout workflow that closed at its terminal status, and the start input
    of the session's order workflow (``workflows/order.py``), which closes with it in turn.
    """

    session: SessionStart
    state: SessionState


class SessionView(_Model):
    """The Query answer: what an operator or the API needs to see without touching the merchant."""

    platform_id: str
    session_id: str
    merchant_id: str
    merchant_checkout_id: str | None
    merchant_version: str | None = Field(default=None, description="The UCP release the merchant speaks with us.")
    status: str | None
    checkout: dict[str, Any] | None = Field(description="The merchant's checkout as presented to the platform.")
    order: dict[str, Any] | None
    status_history: list[StatusChange]
    pending_actions: list[str]
    created_at: dt.datetime
    closed_at: dt.datetime | None
    closed_reason: str | None = Field(default=None, description="Why it closed without a status (issue 12.11).")
    closed: ClosedSession | None = Field(
        default=None,
        description=(
            "Only in the result of a session that closed at its terminal status (behaviour 2): what the API "
            "answers replays from and the order workflow starts from (decision 0001). Never in a Query answer."
        ),
    )
