"""A complete lost after the merchant placed the order: nothing lost, nothing stuck, status never backwards (11.5).

The chaos run's sequence, on real Temporal (time skipping), the real worker, the real reference
merchant and the SQLite audit store: a ``complete``'s first merchant attempt is a local activity
inside the workflow task that accepts the Update, and it stores the operation's audit rows and
index row. The Temporal server died after the merchant placed the order and after those rows
committed, before the task completed, so the Update never reached history. Here that activity
runs exactly as the worker runs it (``OperationActivities.merchant_operation``, the same
merchant client and ``write_records(..., keep_stored=True)``), with the context the workflow
would have given it, and then its workflow task is "lost" (nothing tells the workflow).

Covers DESIGN.md invariants 7 ("nothing lost", hash-chained audit) and "status never goes
backwards", CMP-03 (an unknown complete outcome is reconciled), CMP-16 (the merchant's order came
from the one complete), ORD-06/ORD-18/ORD-24 (a signed order webhook for the session's checkout
reconciles it).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from temporalio.worker import Replayer

from activities.audit import write_records
from activities.merchant import MerchantActivities
from activities.operation import OperationActivities
from activities.types import (
    CallMerchantInput,
    MerchantOperation,
    MerchantOperationInput,
    MerchantOperationResult,
    OperationContext,
    StorageWrite,
)
from contracts import canonical_json, checkout_workflow_id, content_digest, outbound_idempotency_key
from core.outbound_http import new_http_client
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from merchants.profiles import ProfileCache
from storage.audit import AuditEvent
from tests.fixtures.connector_stack import PLATFORM, ConnectorStack, payment_body, ready_body
from tests.fixtures.waiting import eventually
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import Operation, OrderEvent, SessionView

ORPHANS_ADOPTED = "audit_orphans_adopted"  # storage.orphans.ORPHANS_ADOPTED


async def _ready_and_stored(stack: ConnectorStack) -> tuple[str, SessionView, int]:
    """A ready_for_complete session whose outbox has drained, and the number of audit rows it stored."""
    session_id, result = await stack.create(ready_body())
    assert result.body["status"] == "ready_for_complete", result.body
    view = await stack.wait_for(session_id, lambda v: not any(a.startswith("audit_writes") for a in v.pending_actions))
    return session_id, view, len(await _trail(stack, session_id))


async def _complete_lost_after_the_merchant(
    stack: ConnectorStack, session_id: str, view: SessionView, stored: int, *, rows: bool
) -> None:
    """The complete's local activity as the worker runs it; its workflow task is then lost.

    ``rows``: the activity stored the operation's records before the task was lost (the chaos run);
    otherwise it was lost before the write (the merchant placed the order all the same).
    """
    result = await _lost_after_the_merchant(stack, session_id, view, stored, Operation.COMPLETE, rows=rows)
    assert result.reply is not None and result.reply.body["status"] == "completed", result
    assert await stack.merchant.count_orders() == 1


async def _lost_after_the_merchant(
    stack: ConnectorStack, session_id: str, view: SessionView, stored: int, operation: Operation, *, rows: bool
) -> MerchantOperationResult:
    """``operation``'s local activity (the session's second merchant call) as the worker runs it; its task is lost."""
    body = payment_body() if operation is Operation.COMPLETE else ready_body()
    workflow_id = checkout_workflow_id(PLATFORM, session_id)
    call = CallMerchantInput(
        merchant_id=view.merchant_id,
        operation=MerchantOperation.COMPLETE if operation is Operation.COMPLETE else MerchantOperation.UPDATE,
        resource_id=view.merchant_checkout_id,
        body=body,
        idempotency_key=outbound_idempotency_key(workflow_id, 2),  # the create was the session's call 1
    )
    context = OperationContext(
        platform_id=PLATFORM,
        session_id=session_id,
        merchant_id=view.merchant_id,
        operation=operation.value,
        success_status=200,
        status=view.status,
        version=len(view.status_history),
        created_at=view.created_at,
        merchant_checkout_id=view.merchant_checkout_id,
        next_seq=stored + 1,
        occurred_at=dt.datetime.now(dt.UTC),
        request_digest=content_digest(canonical_json(body)),
    )

    async def write(items: list[StorageWrite]) -> list[AuditEvent]:
        return await write_records(stack.repository, items, keep_stored=True, adopt_orphans=True) if rows else []

    http = new_http_client()
    profiles = ProfileCache(http, stack.settings.merchants)
    merchant = MerchantActivities(http, profiles, stack.keys, stack.settings.public_base_url)
    try:
        return await OperationActivities(merchant.call_merchant, write).merchant_operation(  # type: ignore[arg-type]
            MerchantOperationInput(call=call, context=context)
        )
    finally:
        await merchant.aclose()
        await http.aclose()


async def _order_webhook(stack: ConnectorStack, session_id: str, view: SessionView) -> dict[str, Any]:
    """The merchant's signed order webhook for this session's checkout, as the API passes it on."""
    assert view.merchant_checkout_id is not None
    order = await stack.merchant.order_for_checkout(view.merchant_checkout_id)
    assert order is not None
    snapshot = {"id": order.id, "checkout_id": view.merchant_checkout_id, "permalink_url": "x", "currency": "USD"}
    event = OrderEvent(webhook_id="wh-lost-complete", received_at=dt.datetime.now(dt.UTC), order=snapshot)
    await stack.gateway.order_event(PLATFORM, session_id, event)
    return snapshot


async def _trail(stack: ConnectorStack, session_id: str) -> list[tuple[int, str]]:
    page = await stack.repository.list_session_events(session_id, PLATFORM, limit=200)
    return [(event.seq, event.action) for event in page.items]


def _drained(view: SessionView) -> bool:
    return not any(action.startswith("audit_writes") for action in view.pending_actions)


async def test_orphaned_audit_rows_are_adopted_and_the_order_webhook_completes_the_session(
    stack: ConnectorStack, payload_keyring: PayloadKeyring
) -> None:
    """(a) The lost task's rows stay where they are, an adoption event follows them, the webhook's rows go
    after it and the outbox drains (before: ``different_event`` conflict, ``audit_writes_pending``
    forever). (b) The webhook completes the ready_for_complete session (before: it stayed ready).
    The history, with both patches' markers, replays (invariant 5)."""
    session_id, view, stored = await _ready_and_stored(stack)
    await _complete_lost_after_the_merchant(stack, session_id, view, stored, rows=True)
    before = (await stack.repository.list_session_events(session_id, PLATFORM, limit=200)).items
    assert [event.action for event in before[stored:]] == ["merchant.complete_checkout", "status_changed", "complete"]
    snapshot = await _order_webhook(stack, session_id, view)

    await stack.wait_for(session_id, _drained)
    after = (await stack.repository.list_session_events(session_id, PLATFORM, limit=200)).items
    assert after[: len(before)] == before  # nothing overwritten, same hashes
    trail = await _trail(stack, session_id)
    assert trail[stored + 3] == (stored + 4, ORPHANS_ADOPTED)
    assert trail[stored + 4] == (stored + 5, "order_event")
    assert [seq for seq, _ in trail] == list(range(1, len(trail) + 1))
    assert (await stack.repository.verify_chains(session_id=session_id)).ok

    done = await stack.wait_for(session_id, lambda v: v.status == "completed")
    assert done.status_history[-1].cause == "order_webhook" and done.order == snapshot
    assert done.checkout is not None and done.checkout["order"]["id"] == snapshot["id"]
    final = await stack.wait_for(session_id, _drained)
    assert final.status == "completed"
    actions = [action for _, action in await _trail(stack, session_id)]
    assert actions.count(ORPHANS_ADOPTED) == 1 and actions.count("order_event") == 1
    assert actions[-1] == "status_changed"  # the webhook's status change, numbered after the adoption
    assert (await stack.repository.verify_chains(session_id=session_id)).ok
    assert await stack.merchant.count_orders() == 1
    history = await stack.handle(session_id).fetch_history()
    replayer = Replayer(workflows=[CheckoutSessionWorkflow], data_converter=data_converter(payload_keyring))
    await replayer.replay_workflow(history)


async def test_an_order_webhook_completes_a_ready_for_complete_session(stack: ConnectorStack) -> None:
    """(b) ORD-06/ORD-18: the merchant placed the order of a complete this session never recorded (lost before
    its rows were written): the signed order webhook for its checkout completes it, audited and indexed.
    Before, only complete_in_progress (or a reconciling) session moved, so it stayed ready_for_complete."""
    session_id, view, _ = await _ready_and_stored(stack)
    await _complete_lost_after_the_merchant(stack, session_id, view, 0, rows=False)
    snapshot = await _order_webhook(stack, session_id, view)
    done = await stack.wait_for(session_id, lambda v: v.status == "completed")
    assert [change.status for change in done.status_history] == ["ready_for_complete", "completed"]
    assert done.status_history[-1].cause == "order_webhook" and done.order == snapshot
    await stack.wait_for(session_id, _drained)
    record = await stack.repository.get_session(session_id, PLATFORM)
    assert record is not None and record.status == "completed" and record.order_id == snapshot["id"]
    assert (await stack.repository.verify_chains(session_id=session_id)).ok


async def test_a_get_while_an_unknown_complete_outcome_is_reconciled_says_complete_in_progress(
    stack: ConnectorStack,
) -> None:
    """(c) Issue 11.5, CMP-03: the complete's answer could not be verified (bad signature: the merchant may have
    placed the order) and the workflow reconciles; the API answered the complete as not known, so a GET
    must say ``complete_in_progress``, not ``ready_for_complete`` (before: it said ready_for_complete)."""
    session_id, _, _ = await _ready_and_stored(stack)
    stack.merchant.faults.operations = {"complete_checkout", "get_checkout"}  # type: ignore[assignment]
    stack.merchant.faults.bad_signature = True  # every answer, polls included, fails verification
    result = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    assert result.http_status >= 500 and result.body["code"] == "merchant_signature_invalid", result.body
    view = await stack.wait_for(session_id, lambda v: "polling_merchant_for_outcome" in v.pending_actions)
    assert view.status == "complete_in_progress", view.status
    assert view.checkout is not None and view.checkout["status"] == "complete_in_progress"
    stack.merchant.faults.reset()  # the next poll reads the merchant: the order was placed
    done = await stack.wait_for(session_id, lambda v: v.status == "completed", seconds=90)
    assert done.status_history[-1].cause == "poll"
    assert await eventually(stack.merchant.count_orders, lambda count: count == 1) == 1


async def test_events_decided_while_the_adopting_write_runs_are_numbered_after_the_shift(
    stack: ConnectorStack,
) -> None:
    """(a) Invariant 7: what the workflow queues while the write that adopts the orphaned tail is still running
    (a second order webhook here) is renumbered by the same shift, so it follows the adopted batch instead of
    landing in the orphans' positions again. The write is held by a real lock on the SQLite file, released
    once the second webhook's event is queued."""
    session_id, view, stored = await _ready_and_stored(stack)
    await _complete_lost_after_the_merchant(stack, session_id, view, stored, rows=True)
    database = sqlite3.connect(stack.settings.storage.database_url.split(":///", 1)[1], isolation_level=None)
    try:
        database.execute("BEGIN IMMEDIATE")  # every writer waits for the file lock from now on
        snapshot = await _order_webhook(stack, session_id, view)
        await eventually(lambda: _writing(stack, session_id), bool, 30)
        later = OrderEvent(
            webhook_id="wh-lost-complete-2",
            received_at=dt.datetime.now(dt.UTC),
            order={**snapshot, "permalink_url": "y"},
            webhook_timestamp=2_000_000_000,
        )
        await stack.gateway.order_event(PLATFORM, session_id, later)
        await stack.wait_for(session_id, lambda v: v.order is not None and v.order["permalink_url"] == "y")
    finally:
        database.execute("ROLLBACK")
        database.close()
    await stack.wait_for(session_id, lambda v: v.status == "completed" and _drained(v), seconds=60)
    trail = await _trail(stack, session_id)
    assert [seq for seq, _ in trail] == list(range(1, len(trail) + 1))
    actions = [action for _, action in trail]
    assert actions[stored:] == [
        "merchant.complete_checkout",
        "status_changed",
        "complete",
        ORPHANS_ADOPTED,
        "order_event",
        "status_changed",
        "order_event",
    ]
    assert (await stack.repository.verify_chains(session_id=session_id)).ok


async def _writing(stack: ConnectorStack, session_id: str) -> bool:
    """The session's write_batch activity is running (blocked on the lock)."""
    description = await stack.handle(session_id).describe()
    return any(
        activity.activity_type.name == "write_batch" for activity in description.raw_description.pending_activities
    )


async def test_an_operation_after_a_lost_one_is_recorded_after_its_rows_and_answered(
    stack: ConnectorStack, payload_keyring: PayloadKeyring
) -> None:
    """Issue 13 (DESIGN.md invariant 7, "nothing lost"): an update's task was lost after its local activity
    stored its rows; the platform's next operation (a refresh, a read at the merchant) offers its records at
    those positions. Its local activity adopts them: the lost rows stay, an adoption event and the refresh's
    rows follow, the refresh answers 200 with the merchant's checkout, and the session numbers on after them
    (a later complete's rows too). Before, the refresh's records conflicted with the lost rows in its local
    and then its regular activity, and the read answered 500 ``audit_conflict``. The history replays."""
    session_id, created = await stack.create({"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]})
    assert created.body["status"] == "incomplete", created.body
    view = await stack.wait_for(session_id, _drained)
    stored = len(await _trail(stack, session_id))
    lost = await _lost_after_the_merchant(stack, session_id, view, stored, Operation.UPDATE, rows=True)
    assert lost.reply is not None and lost.reply.body["status"] == "ready_for_complete", lost
    lost_rows = (await _trail(stack, session_id))[stored:]
    assert [action for _, action in lost_rows] == ["merchant.update_checkout", "status_changed", "update"]

    refreshed = await stack.operate(session_id, Operation.REFRESH)
    assert refreshed.http_status == 200 and refreshed.body["status"] == "ready_for_complete", refreshed.body
    await stack.wait_for(session_id, _drained)
    trail = await _trail(stack, session_id)
    assert trail[stored : stored + 3] == lost_rows  # nothing overwritten
    assert [action for _, action in trail[stored + 3 :]] == [
        ORPHANS_ADOPTED,
        "merchant.get_checkout",
        "status_changed",
        "refresh",
    ]

    done = await stack.operate(session_id, Operation.COMPLETE, payment_body())
    assert done.body["status"] == "completed", done.body
    final = await stack.wait_for(session_id, _drained)
    trail = await _trail(stack, session_id)
    assert [seq for seq, _ in trail] == list(range(1, len(trail) + 1))
    assert [action for _, action in trail].count(ORPHANS_ADOPTED) == 1
    assert trail[-1][1] == "complete" and final.status == "completed"
    assert (await stack.repository.verify_chains(session_id=session_id)).ok
    history = await stack.handle(session_id).fetch_history()
    replayer = Replayer(workflows=[CheckoutSessionWorkflow], data_converter=data_converter(payload_keyring))
    await replayer.replay_workflow(history)
