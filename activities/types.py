"""Inputs and outputs of the activities: the only data that crosses from workflow code into I/O.

One pydantic model per activity argument and result, so signatures can grow
without breaking histories (Temporal samples' convention). Everything here is
encrypted at rest by the payload codec; still, nothing here is a private key.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.ucp import RestOperation


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityName(StrEnum):
    """The activity types the worker registers; the workflow schedules them by these names only.

    Names, not method references, so the workflow module imports no I/O code
    (DESIGN.md invariant 5). They are what recorded histories name: never rename one.
    """

    CALL_MERCHANT = "call_merchant"
    DISCOVER_MERCHANT = "discover_merchant"
    WRITE_BATCH = "write_batch"
    NOTIFY_PLATFORM = "notify_platform"
    MERCHANT_OPERATION = "merchant_operation"


MerchantOperation = RestOperation
"""The UCP REST operations the connector performs at a merchant: the wire vocabulary of ``contracts.ucp.rest``.

One enum, two names: merchants/ builds requests from it, the workflow schedules
calls with it, and recorded histories carry its values (never rename one).
"""


class DiscoverMerchantInput(_Model):
    merchant_id: str


class MerchantProfileSummary(_Model):
    """What the workflow needs to remember from discovery (the keys stay in the worker's cache)."""

    merchant_id: str
    profile_url: str
    endpoint: str
    version: str
    capabilities: dict[str, str] = Field(description="Negotiated capability name -> version.")


class CallMerchantInput(_Model):
    merchant_id: str
    operation: MerchantOperation
    resource_id: str | None = None
    body: dict[str, Any] | None = None
    idempotency_key: str | None = Field(default=None, description="Deterministic outbound key (invariant 4).")


class MerchantReply(_Model):
    status_code: int
    body: dict[str, Any]
    response_digest: str = Field(description="Content-Digest (sha-256) of the raw response bytes.")
    signed_by: str | None = Field(default=None, description="kid that signed the response, if signed.")
    release: str | None = Field(default=None, description="The UCP release the merchant answered in.")
    auth: str | None = Field(default=None, description="The merchant's own authentication the call carried.")
    unsigned_accepted: bool = Field(
        default=False, description='Unsigned, accepted under the merchant\'s response_signatures = "when_present".'
    )


class AuditRecord(_Model):
    """One audit event as the workflow decides it; storage adds the chain hashes."""

    kind: Literal["audit"] = "audit"
    platform_id: str
    session_id: str
    seq: int = Field(ge=1)
    occurred_at: dt.datetime
    actor: str
    action: str
    outcome: str = Field(
        description="accepted | rejected (platform requests), succeeded | failed | declined (our calls)."
    )
    error_code: str | None = None
    request_digest: str | None = None
    response_digest: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class SessionIndexRecord(_Model):
    """The listing projection of a session (storage `sessions` table)."""

    kind: Literal["index"] = "index"
    platform_id: str
    session_id: str
    merchant_id: str
    merchant_checkout_id: str | None
    order_id: str | None = None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(ge=0, description="Monotonic per session; a stale index write is ignored.")


StorageWrite = Annotated[AuditRecord | SessionIndexRecord, Field(discriminator="kind")]


class StorageBatch(_Model):
    """Storage writes in the order the workflow decided them; one activity writes them all, in order."""

    items: list[StorageWrite] = Field(min_length=1)
    adopt_orphans: bool = Field(
        default=False,
        description="A tail of rows the workflow never learned it wrote is kept and this batch follows it "
        "(storage/orphans.py): the outbox's writes.",
    )


class StorageBatchWritten(_Model):
    """Where a batch's audit events went: ``shift`` positions after the seqs the workflow gave them.

    Only when the batch followed an orphaned tail (``storage/orphans.py``): the workflow numbers
    everything after it that much further on. A batch stored where it was numbered answers ``None``.
    """

    shift: int = Field(ge=1)
    first_orphan: int | None = Field(default=None, description="The first seq the workflow did not know it had.")


class PlatformNotification(_Model):
    """A signed webhook to the platform about something it did not cause synchronously."""

    event_id: str = Field(description="Stable id for platform-side dedup (Webhook-Id).")
    platform_id: str
    webhook_url: str
    allow_insecure_loopback: bool = False
    event_type: str
    occurred_at: dt.datetime
    payload: dict[str, Any]


class OperationContext(_Model):
    """What the session knows when a platform operation calls its merchant: enough to derive its audit trail.

    ``activities.records`` turns it and the merchant's answer into the very records the workflow
    decides (the merchant call, a status change with its index row, the platform's answer), so
    ``merchant_operation`` can store them before it returns (issue 13: one workflow task per operation).
    """

    platform_id: str
    session_id: str
    merchant_id: str
    operation: str = Field(description="The platform operation (create, update, complete, cancel, refresh).")
    success_status: int = Field(description="HTTP status of a successful answer: 201 for create, else 200.")
    status: str | None = Field(description="The session's status before the call.")
    version: int = Field(ge=0, description="Status changes so far (the index row's version).")
    created_at: dt.datetime
    merchant_checkout_id: str | None = None
    order_id: str | None = Field(default=None, description="The order id known from a webhook snapshot.")
    next_seq: int = Field(ge=1, description="The audit seq of the first record this operation writes.")
    occurred_at: dt.datetime = Field(description="Workflow time when the operation called: every record's time.")
    request_digest: str = Field(description="Content-Digest of the platform's request body.")
    prelude: list[StorageWrite] = Field(default_factory=list, description="Records decided earlier, written first.")


class MerchantOperationInput(_Model):
    call: CallMerchantInput
    context: OperationContext


class OperationFailure(_Model):
    """A merchant call that failed for good (a 4xx, a bad signature): the frozen error, as a value."""

    code: str
    message: str
    pointer: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    retry_after: int | None = None
    continue_url: str | None = None


class MerchantOperationResult(_Model):
    """The merchant's answer (or final failure) and the proof that its audit records are stored."""

    reply: MerchantReply | None = None
    failure: OperationFailure | None = None
    request_digest: str | None = Field(default=None, description="Content-Digest of the body sent to the merchant.")
    written_through: int = Field(description="The last audit seq stored (prelude and this operation's records).")
    written: StorageBatchWritten | None = Field(
        default=None,
        description="Set when the records went after rows the workflow never learned it wrote (a lost "
        "workflow task, storage/orphans.py): how far, so the workflow numbers on from there.",
    )
