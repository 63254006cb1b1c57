"""The session's outbox: audit events, session-index rows and platform notifications, delivered in order.

The workflow decides; the outbox writes down what it decided and delivers it
through activities, so the hash chain's order is the decision order (DESIGN.md
invariant 7). Items live in the :class:`~workflows.types.SessionState` until
they are delivered, so nothing queued is lost: a continued run delivers what
the last one left (an item in flight at that moment is re-sent, which is safe:
writes are idempotent on (session, seq), notifications carry a stable event id).

Two drains run for the whole run: storage writes in batches, notifications one
by one (a platform that is down must not hold back the audit trail). A platform
operation awaits :meth:`Outbox.stored` before it answers, so what the platform
reads next (listing, events, order lookup) already includes it; polls, expiry
and webhooks never wait for the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from temporalio import workflow
from temporalio.exceptions import ActivityError

from activities.types import ActivityName, AuditRecord, PlatformNotification, SessionIndexRecord, StorageBatch
from workflows import activity_options, lifecycle
from workflows.types import SessionStart, SessionState

STORAGE_BATCH: Final = 50  # audit/index writes per activity


class Outbox:
    def __init__(self, start: SessionStart, state: SessionState) -> None:
        self._start = start
        self._state = state
        self._written = 0  # items this run has stored; the state's queue holds the rest
        self._drains: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------ deciding

    def audit(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        error_code: str | None = None,
        request_digest: str | None = None,
        response_digest: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self._state.audit_seq += 1
        self._state.pending_audit.append(
            AuditRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                seq=self._state.audit_seq,
                occurred_at=workflow.now(),
                actor=actor,
                action=action,
                outcome=outcome,
                error_code=error_code,
                request_digest=request_digest,
                response_digest=response_digest,
                payload=payload or {},
            )
        )

    def audit_answer(
        self, action: str, http_status: int, body: dict[str, Any], request_digest: str | None, **payload: Any
    ) -> None:
        """What the platform asked for and what it was answered."""
        self.audit(
            actor=f"platform:{self._start.platform_id}",
            action=action,
            outcome="accepted" if http_status < 400 else "rejected",
            error_code=body.get("code") if http_status >= 400 else None,
            request_digest=request_digest,
            payload={"http_status": http_status, **payload},
        )

    def index(self) -> None:
        """The session's listing row at its current status; ``version`` keeps a stale write from winning."""
        state = self._state
        assert state.status is not None
        state.pending_audit.append(
            SessionIndexRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                merchant_id=self._start.merchant_id,
                merchant_checkout_id=state.merchant_checkout_id,
                order_id=lifecycle.order_id(state),
                status=state.status,
                created_at=state.created_at,
                updated_at=workflow.now(),
                version=len(state.status_history),
            )
        )

    def notify(self, event_type: str, payload: dict[str, Any]) -> None:
        """A signed webhook to the platform, when it registered a URL (only for what it did not cause itself)."""
        if self._start.platform_webhook_url is None:
            return
        self._state.notification_seq += 1
        self._state.pending_notifications.append(
            PlatformNotification(
                event_id=f"{self._start.session_id}.{self._state.notification_seq}",
                platform_id=self._start.platform_id,
                webhook_url=self._start.platform_webhook_url,
                allow_insecure_loopback=self._start.platform_webhook_allow_insecure_loopback,
                event_type=event_type,
                occurred_at=workflow.now(),
                payload={"session_id": self._start.session_id, "merchant_id": self._start.merchant_id, **payload},
            )
        )

    # ---------------------------------------------------------- delivering

    def start(self) -> None:
        self._drains = [
            asyncio.create_task(_drain(self._state.pending_audit, self._write, batch=STORAGE_BATCH)),
            asyncio.create_task(_drain(self._state.pending_notifications, self._deliver, batch=1)),
        ]

    def stop(self) -> None:
        for drain in self._drains:
            drain.cancel()

    @property
    def empty(self) -> bool:
        return not self._state.pending_audit and not self._state.pending_notifications

    async def stored(self) -> None:
        """Until everything queued so far is in the store: an answer is never ahead of its audit trail."""
        target = self._written + len(self._state.pending_audit)
        await workflow.wait_condition(lambda: self._written >= target)

    def pending_actions(self) -> list[str]:
        actions = []
        if self._state.pending_audit:
            actions.append(f"audit_writes_pending:{len(self._state.pending_audit)}")
        if self._state.pending_notifications:
            actions.append(f"platform_notifications_pending:{len(self._state.pending_notifications)}")
        return actions

    async def _write(self, items: list[AuditRecord | SessionIndexRecord]) -> None:
        audits = [item for item in items if isinstance(item, AuditRecord)]
        what = f"audit #{audits[0].seq}-#{audits[-1].seq}" if audits else "session index"
        await activity_options.execute(
            ActivityName.WRITE_BATCH, StorageBatch(items=items), summary=f"write {what} ({len(items)} items)"
        )
        self._written += len(items)

    async def _deliver(self, notifications: list[PlatformNotification]) -> None:
        [notification] = notifications
        try:
            await activity_options.execute(
                ActivityName.NOTIFY_PLATFORM, notification, summary=f"notify platform: {notification.event_type}"
            )
            outcome = "succeeded"
        except ActivityError:
            outcome = "failed"  # abandoned after 24 h of retries
        self.audit(
            actor="connector",
            action="platform_notification",
            outcome=outcome,
            payload={"event_id": notification.event_id, "event_type": notification.event_type},
        )


async def _drain(queue: list[Any], deliver: Callable[[list[Any]], Awaitable[None]], *, batch: int) -> None:
    """Deliver queued items in order, up to ``batch`` at a time; items leave the queue only once delivered."""
    while True:
        await workflow.wait_condition(lambda: bool(queue))
        head = queue[:batch]
        await deliver(head)
        del queue[: len(head)]
