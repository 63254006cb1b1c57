"""Fake activities under the real ``ActivityName``s, for fast workflow tests (temporalio/samples-python style).

The merchant answers from a script, the store and the platform keep what they
are given. Everything else is real: the time-skipping Temporal server, the
sandboxed ``CheckoutSessionWorkflow``, the production data converter and the
API's ``CheckoutGateway``. The real activities against the real reference
merchant are exercised by test_checkout_workflow.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.errors import encode_failure
from activities.operation import OperationActivities
from activities.types import (
    ActivityName,
    AuditRecord,
    CallMerchantInput,
    DiscoverMerchantInput,
    MerchantOperation,
    MerchantProfileSummary,
    MerchantReply,
    PlatformNotification,
    SessionIndexRecord,
    StorageBatch,
    StorageWrite,
)
from api.gateway import CheckoutGateway
from contracts import UcpError
from tests.fixtures.connector_stack import SessionDriver
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import PolicySnapshot

MERCHANT_CHECKOUT_ID = "chk_1"


def checkout(status: str, **fields: Any) -> dict[str, Any]:
    """A merchant checkout body: $25.00 in USD, in ``status``."""
    return {
        "id": MERCHANT_CHECKOUT_ID,
        "status": status,
        "currency": "USD",
        "totals": [{"type": "subtotal", "amount": 2500}, {"type": "total", "amount": 2500}],
        **fields,
    }


@dataclass(frozen=True)
class Retryable:
    """A scripted failure that may pass (a 503): the call raises it retryable, so Temporal retries."""

    error: UcpError


def merchant_summary(merchant_id: str = "shop", version: str = "2026-04-08") -> MerchantProfileSummary:
    """What discovery tells a session about a merchant speaking ``version`` (the scripted merchant's profile)."""
    return MerchantProfileSummary(
        merchant_id=merchant_id,
        profile_url="https://shop.example/.well-known/ucp",
        endpoint="https://shop.example/ucp/v1",
        version=version,
        capabilities={"dev.ucp.shopping.checkout": version},
    )


@dataclass
class ScriptedActivities:
    """Each merchant operation answers with its script in order; the last entry repeats."""

    script: dict[MerchantOperation, list[dict[str, Any] | UcpError | Retryable]] = field(default_factory=dict)
    calls: list[CallMerchantInput] = field(default_factory=list)
    written: list[AuditRecord | SessionIndexRecord] = field(default_factory=list)
    notified: list[PlatformNotification] = field(default_factory=list)

    def answer(self, operation: MerchantOperation, *replies: dict[str, Any] | UcpError | Retryable) -> None:
        """Script the next answers: a checkout/order body (HTTP 200, signed) or the frozen error the call fails with."""
        self.script[operation] = list(replies)

    def operations(self) -> list[MerchantOperation]:
        return [call.operation for call in self.calls]

    def audits(self) -> list[AuditRecord]:
        return [item for item in self.written if isinstance(item, AuditRecord)]

    @activity.defn(name=ActivityName.CALL_MERCHANT)
    async def call_merchant(self, call: CallMerchantInput) -> MerchantReply:
        self.calls.append(call)
        replies = self.script[call.operation]
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, UcpError):
            raise encode_failure(reply)
        if isinstance(reply, Retryable):
            raise encode_failure(reply.error, retryable=True)
        return MerchantReply(status_code=200, body=reply, response_digest="sha-256=:scripted:", signed_by="k1")

    @activity.defn(name=ActivityName.DISCOVER_MERCHANT)
    async def discover_merchant(self, request: DiscoverMerchantInput) -> MerchantProfileSummary:
        return merchant_summary(request.merchant_id)

    @activity.defn(name=ActivityName.WRITE_BATCH)
    async def write_batch(self, batch: StorageBatch) -> None:
        self.written.extend(batch.items)

    @activity.defn(name=ActivityName.NOTIFY_PLATFORM)
    async def notify_platform(self, notification: PlatformNotification) -> None:
        self.notified.append(notification)

    async def _write(self, items: Sequence[StorageWrite]) -> None:
        self.written.extend(items)

    def registered(self) -> list[Callable[..., Any]]:
        operation = OperationActivities(self.call_merchant, self._write)
        return [
            self.call_merchant,
            operation.merchant_operation,
            self.discover_merchant,
            self.write_batch,
            self.notify_platform,
        ]


@dataclass
class ScriptedSession(SessionDriver):
    fakes: ScriptedActivities


@contextlib.asynccontextmanager
async def scripted_session(client: Client) -> AsyncIterator[ScriptedSession]:
    """A worker with the scripted activities on a private task queue; its sessions are terminated afterwards."""
    fakes = ScriptedActivities()
    task_queue = f"scripted-{uuid.uuid4().hex[:8]}"
    gateway = CheckoutGateway(client, task_queue=task_queue, wait_bound=dt.timedelta(seconds=15))
    session = ScriptedSession(client, gateway, PolicySnapshot(), fakes)
    async with Worker(
        client, task_queue=task_queue, workflows=[CheckoutSessionWorkflow], activities=fakes.registered()
    ):
        try:
            yield session
        finally:
            await session.terminate_all()
