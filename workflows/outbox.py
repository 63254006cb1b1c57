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
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Final

from temporalio import workflow
from temporalio.exceptions import ActivityError

from activities.types import (
    ActivityName,
    AuditRecord,
    PlatformNotification,
    SessionIndexRecord,
    StorageBatch,
    StorageBatchWritten,
    StorageWrite,
)
from workflows import activity_options, lifecycle
from workflows.types import SessionStart, SessionState

STORAGE_BATCH: Final = 50  # audit/index writes per activity
# A write that followed an orphaned audit tail (storage/orphans.py) moves the session's numbering on; no
# history recorded before this ever got such an answer, the marker says where one did.
ORPHANS_ADOPTED_PATCH: Final = "audit-orphans-adopted"


class Outbox:
    def __init__(self, start: SessionStart, state: SessionState) -> None:
        self._start = start
        self._state = state
        self._written = 0  # items this run has stored; the state's queue holds the rest
        self._drains: list[asyncio.Task[None]] = []
        self._writing = 0  # items the storage drain is delivering right now
        self._collected: list[StorageWrite] | None = None  # an operation's records, stored by its own activity
        self._collect_at: dt.datetime | None = None
        self._held: list[tuple[dt.datetime, dict[str, Any] | None]] | None = None  # decided during its call
        self._decided_meanwhile: list[tuple[dt.datetime, dict[str, Any] | None]] = []

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
        if self._held is not None:
            fields: dict[str, Any] = {"actor": actor, "action": action, "outcome": outcome, "error_code": error_code}
            fields |= {"request_digest": request_digest, "response_digest": response_digest, "payload": payload}
            self._held.append((workflow.now(), fields))
            return
        self._state.audit_seq += 1
        self._queue(
            AuditRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                seq=self._state.audit_seq,
                occurred_at=self._now(),
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
        if self._held is not None:
            self._held.append((workflow.now(), None))
            return
        self._queue(
            SessionIndexRecord(
                platform_id=self._start.platform_id,
                session_id=self._start.session_id,
                merchant_id=self._start.merchant_id,
                merchant_checkout_id=state.merchant_checkout_id,
                order_id=lifecycle.order_id(state),
                status=state.status,
                created_at=state.created_at,
                updated_at=self._now(),
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

    def _queue(self, item: StorageWrite) -> None:
        (self._collected if self._collected is not None else self._state.pending_audit).append(item)

    def _now(self) -> dt.datetime:
        return self._collect_at or workflow.now()

    # ------------------------------------------- an operation's own records

    @property
    def writing(self) -> bool:
        """The storage drain is delivering a batch: records queued now would land behind it."""
        return self._writing > 0

    def begin_operation(self) -> list[StorageWrite]:
        """An operation's activity is about to store its records: take the queue as its prelude, hold the rest.

        Until :meth:`decide_operation`, whatever else the workflow decides (a webhook, a delivery) is
        held back without a seq, so the seqs the activity writes stay free; :meth:`settle` releases it.
        """
        assert not self._writing
        prelude = list(self._state.pending_audit)
        del self._state.pending_audit[:]
        self._held = []
        return prelude

    def decide_operation(self, at: dt.datetime) -> None:
        """The activity returned: the records decided from now on are the operation's, timed ``at``."""
        self._collected, self._collect_at = [], at
        self._decided_meanwhile, self._held = self._held or [], None

    def settle(self, prelude: list[StorageWrite], stored: list[StorageWrite] | None) -> None:
        """End of an operation: ``stored`` are the records its activity wrote, ``None`` when it wrote nothing.

        Stored: the records decided meanwhile are those (``activities.records`` derives the same ones);
        should they ever differ, the stored ones are the chain and the sequence follows them. Not
        stored: the prelude goes back to the head of the queue and the decided records behind it.
        Then what was held is decided, in order, behind them.
        """
        collected, held = self._collected or [], self._decided_meanwhile
        self._collected, self._collect_at, self._decided_meanwhile = None, None, []
        if stored is None:
            self._state.pending_audit[:0] = [*prelude, *collected]
        else:
            if collected != stored:
                workflow.logger.error(
                    "operation records differ from the stored ones; the stored ones are kept",
                    extra={"decided": len(collected), "stored": len(stored)},
                )
                self._state.audit_seq = max(
                    [self._state.audit_seq - _audits(collected), *(i.seq for i in stored if isinstance(i, AuditRecord))]
                )
            self._written += len(prelude) + len(stored)
        for at, fields in held:
            self._collect_at = at
            if fields is None:
                self.index()
            else:
                self.audit(**fields)
        self._collect_at = None

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
        self._writing = len(items)
        try:
            answer = await activity_options.execute(
                ActivityName.WRITE_BATCH,
                StorageBatch(items=items, adopt_orphans=True),
                summary=f"write {what} ({len(items)} items)",
            )
        finally:
            self._writing = 0
        written = StorageBatchWritten.model_validate(answer) if answer is not None else None  # None: in place
        if written is not None and written.shift and workflow.patched(ORPHANS_ADOPTED_PATCH):
            self._after_orphans(len(items), written)
        self._written += len(items)

    def _after_orphans(self, count: int, written: StorageBatchWritten) -> None:
        """The batch went after rows this workflow never learned it wrote (a workflow task lost after its
        local activity stored an operation's records): number everything after them, nothing is renumbered
        in the store. The first ``count`` queued items are the batch just written."""
        self._moved_on(written)
        queue = self._state.pending_audit
        queue[count:] = [_moved(item, written.shift) for item in queue[count:]]

    def operation_after_orphans(self, written: StorageBatchWritten, stored: list[StorageWrite]) -> list[StorageWrite]:
        """An operation's local activity stored its records after such rows (another operation than the
        lost one): ``stored`` as they stand, and the records decided from now on numbered after them."""
        self._moved_on(written)
        first = written.first_orphan or 0
        return [
            item if isinstance(item, AuditRecord) and item.seq < first else _moved(item, written.shift)
            for item in stored
        ]

    def _moved_on(self, written: StorageBatchWritten) -> None:
        self._state.audit_seq += written.shift
        workflow.logger.warning(
            "audit rows this session did not know it had were adopted; its numbering moves on",
            extra={"first_orphan": written.first_orphan, "shift": written.shift, "alert": True},
        )

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


def _moved(item: StorageWrite, shift: int) -> StorageWrite:
    return item.model_copy(update={"seq": item.seq + shift}) if isinstance(item, AuditRecord) else item


def _audits(items: list[StorageWrite]) -> int:
    return sum(1 for item in items if isinstance(item, AuditRecord))


async def _drain(queue: list[Any], deliver: Callable[[list[Any]], Awaitable[None]], *, batch: int) -> None:
    """Deliver queued items in order, up to ``batch`` at a time; items leave the queue only once delivered."""
    while True:
        await workflow.wait_condition(lambda: bool(queue))
        head = queue[:batch]
        if not head:
            continue  # an operation took the queue for its own activity meanwhile
        await deliver(head)
        del queue[: len(head)]
