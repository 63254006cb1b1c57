"""Orphaned audit rows: a tail the session's workflow never learned it wrote, adopted instead of overwritten.

How a tail is orphaned: a platform operation's first merchant attempt runs as a
*local* activity inside the workflow task that accepts the Update, and it
stores the operation's records (``activities/operation.py``). When Temporal
loses that task after the records committed (the server killed before the task
completed), the Update never reaches history: the rows stay, the workflow's
``audit_seq`` never advanced, and its next write — the outbox's, or the next
operation's local activity — offers those positions again with other events.
Refusing that as a conflict would hold the session's outbox forever and fail
every later operation; overwriting would break the append-only chain (DESIGN.md
invariant 7). Instead, for those writes (``adopt_orphans``):

* the stored rows from the first position where the batch finds another event
  on (its leading events may be stored already: a prelude the lost activity
  wrote too) are kept as they are (they record what the merchant really did);
* one ``audit_orphans_adopted`` event is appended after them, saying which
  positions the workflow did not know of, then the batch, each event moved by
  the same *shift*, hash-linked as ever; the caller returns the shift to the
  workflow, which numbers its later events after them;
* a retry of the same write finds that adoption event and the batch after it,
  and writes nothing twice (the ordinary idempotency rules check the moved batch).

Only a tail that can be such an orphan is adopted: one session, the same
platform, every row decided no later than the event the batch offers in its
place (workflow time runs forward). Anything else is the conflict it always was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy import select

from contracts import canonical_json
from storage.audit import AuditOutcome, NewAuditEvent, row_event
from storage.models import audit_events

if TYPE_CHECKING:
    from storage.batch import BatchItem, Plan

ORPHANS_ADOPTED: Final = "audit_orphans_adopted"

_log = structlog.get_logger("ucp_connector.storage")


def adopted(
    items: Sequence[BatchItem], documents: Sequence[dict[str, Any]], stored: dict[tuple[str, int], Any]
) -> Plan[list[BatchItem] | None]:
    """The batch to write instead of ``items`` when it runs into an orphaned tail; else ``None``.

    ``documents`` are the hashed documents of the batch's events, ``stored`` the rows the batch's own
    range read found. The batch's leading events may be stored already (a prelude the lost activity
    wrote too); the first one that finds *another* event at its position is where a tail may begin.
    ``None`` leaves ``items`` to the ordinary rules (idempotent, conflict, gap), so only such a batch is
    looked at more closely, with one more SELECT.
    """
    events = [item for item in items if isinstance(item, NewAuditEvent)]
    if not events or len({event.session_id for event in events}) != 1:
        return None
    for pivot, offered in zip(events, documents, strict=True):
        existing = stored.get((pivot.session_id, int(offered["seq"])))
        if existing is None:
            return None  # new rows from here on (or a gap): the ordinary rules
        if canonical_json(row_event(existing)) != canonical_json(offered):
            break
    else:
        return None  # all stored as offered: a retry
    first, seq = pivot, int(offered["seq"])
    tail = list(
        (
            yield (
                select(audit_events)
                .where(audit_events.c.session_id == first.session_id, audit_events.c.seq >= seq)
                .order_by(audit_events.c.seq),
                None,
            )
        ).all()
    )
    adoptions = (i for i, row in enumerate(tail) if row.action == ORPHANS_ADOPTED and _first_seq(row) == seq)
    cut = next(adoptions, len(tail))  # where an earlier try of this write adopted the tail, if one did
    orphans = tail[:cut]
    if not orphans:
        return None
    if cut == len(tail):
        if any(not _orphan(row, offered) for row in orphans):
            return None  # not what a lost operation leaves: the ordinary rules refuse it
        _log.warning(
            ORPHANS_ADOPTED,
            alert=True,
            session_id=first.session_id,
            first_seq=seq,
            last_seq=orphans[-1].seq,
            actions=[row.action for row in orphans],
        )
    # A retry derives the same adoption event and moved batch; the ordinary rules find them stored.
    last = orphans[-1].seq
    adoption = NewAuditEvent(
        platform_id=first.platform_id,
        session_id=first.session_id,
        seq=last + 1,
        occurred_at=first.occurred_at,
        actor="connector",
        action=ORPHANS_ADOPTED,
        outcome=AuditOutcome.SUCCEEDED,
        payload={"first_seq": seq, "last_seq": last, "actions": [row.action for row in orphans]},
    )
    return _after(items, pivot, adoption, last + 2 - seq)


def _first_seq(row: Any) -> Any:
    return (row.payload or {}).get("first_seq") if isinstance(row.payload, dict) else None


def _orphan(row: Any, offered: dict[str, Any]) -> bool:
    """A row the session's workflow may have lost: its platform, decided no later than the event offered in its
    place (workflow time runs forward), and no earlier adoption (rows after one are the workflow's own: an
    event numbered behind them is a workflow that did not move on, never a lost task)."""
    return bool(
        row.platform_id == offered["platform_id"]
        and row.action != ORPHANS_ADOPTED
        and row_event(row)["occurred_at"] <= offered["occurred_at"]
    )


def _after(items: Sequence[BatchItem], pivot: NewAuditEvent, adoption: NewAuditEvent, shift: int) -> list[BatchItem]:
    """``items`` with ``adoption`` before ``pivot`` and every event from ``pivot`` on moved by ``shift``."""
    moved: list[BatchItem] = []
    moving = False
    for item in items:
        if item is pivot:
            moved.append(adoption)
            moving = True
        if moving and isinstance(item, NewAuditEvent) and item.seq is not None:
            item = item.model_copy(update={"seq": item.seq + shift})
        moved.append(item)
    return moved
