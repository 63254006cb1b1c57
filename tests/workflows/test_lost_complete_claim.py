"""The platform's replay of a lost complete, after the merchant's order webhook completed the session (11.5).

The scenario of ``test_lost_complete.py`` (real Temporal with time skipping, the real worker, the
real reference merchant): a ``complete``'s workflow task is lost after the merchant placed the order,
the API answered it ``202 operation_pending``, and the order webhook completes the ``ready_for_complete``
session before the platform's replay of that complete arrives. The replay must get 200 with the
completed checkout (IDM-05: the same key and body get the operation's result), not ``409
transition_invalid`` for a complete that placed its order (DESIGN.md "never charge twice"); a complete
with another body is still refused (IDM-07 at the merchant), no second order is placed (CMP-16,
invariant 4) and the status never goes back (issue 11.5). Before ``workflows/claims.py`` every replay
here was refused.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contracts import UcpError, checkout_workflow_id
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from tests.fixtures.connector_stack import PLATFORM, ConnectorStack, connector_stack, payment_body
from tests.fixtures.temporal import advance
from tests.workflows.test_lost_complete import (
    _complete_lost_after_the_merchant,
    _drained,
    _order_webhook,
    _ready_and_stored,
)
from workflows.checkout import CheckoutSessionWorkflow
from workflows.lifecycle import CLOSE_GRACE
from workflows.types import Operation, OperationResult, SessionView


async def _completed_by_the_webhook(stack: ConnectorStack, *, rows: bool) -> str:
    """A session whose complete was lost after the merchant placed the order, then completed by the webhook."""
    session_id, view, stored = await _ready_and_stored(stack)
    await _complete_lost_after_the_merchant(stack, session_id, view, stored, rows=rows)
    await _order_webhook(stack, session_id, view)
    done = await stack.wait_for(session_id, lambda v: v.status == "completed" and _drained(v))
    assert done.status_history[-1].cause == "order_webhook"
    return session_id


async def _refusal(call: Any) -> tuple[int, str, dict[str, Any]]:
    """(HTTP status, code, detail) of a refused operation: raised by a validator, or answered by the handler."""
    try:
        answered: OperationResult = await call
    except UcpError as error:
        return error.http_status, error.code.value, dict(error.detail)
    return answered.http_status, answered.body["code"], answered.body.get("detail", {})


REFUSED = (409, "transition_invalid", {"operation": "complete", "status": "completed"})


def _checkout(stack: ConnectorStack, session_id: str) -> WorkflowHandle[Any, SessionView]:
    return stack.client.get_workflow_handle(checkout_workflow_id(PLATFORM, session_id), result_type=SessionView)


async def _claimed(stack: ConnectorStack, session_id: str, key: str) -> OperationResult:
    """The platform's replay of the lost complete: 200, the completed checkout, still one order."""
    replayed = await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key)
    assert replayed.http_status == 200 and replayed.body["status"] == "completed", replayed.body
    view = await stack.view(session_id)
    assert replayed.body == view.checkout and replayed.body["order"]["id"] == (view.order or {}).get("id")
    assert [change.status for change in view.status_history] == ["ready_for_complete", "completed"]
    assert await stack.merchant.count_orders() == 1
    return replayed


async def test_the_replay_of_a_lost_complete_after_the_order_webhook_is_answered_completed(
    stack: ConnectorStack, payload_keyring: PayloadKeyring
) -> None:
    """IDM-05, CMP-16, invariant 4: the replay claims the webhook's order (200 completed, one order, the merchant
    answered from its idempotency cache), its own replays get the same answer, a later complete the refusal
    of a completed session, and the session then closes (decision 0001). Before: 409 transition_invalid."""
    session_id = await _completed_by_the_webhook(stack, rows=True)
    key = "complete-lost-in-the-restart"
    replayed = await _claimed(stack, session_id, key)
    assert stack.requests.count("POST", "/complete") == 2  # the lost attempt and the claim, one order
    assert await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key) == replayed
    assert await _refusal(stack.operate(session_id, Operation.COMPLETE, payment_body())) == REFUSED
    final = await _checkout(stack, session_id).result()
    assert final.status == "completed" and final.closed is not None
    assert final.closed.state.lost_complete_seq is None
    assert (await stack.repository.verify_chains(session_id=session_id)).ok
    history = await _checkout(stack, session_id).fetch_history()
    replayer = Replayer(workflows=[CheckoutSessionWorkflow], data_converter=data_converter(payload_keyring))
    await replayer.replay_workflow(history)


async def test_a_complete_with_another_body_is_refused_and_the_replay_still_claims_the_order(
    stack: ConnectorStack,
) -> None:
    """IDM-07 (the merchant refuses its key with another body), invariant 4: a complete that is not the lost one
    gets the completed session's refusal and no order; the real replay still gets 200 completed afterwards."""
    session_id = await _completed_by_the_webhook(stack, rows=False)
    assert await _refusal(stack.operate(session_id, Operation.COMPLETE, payment_body("other_tok"))) == REFUSED
    assert await stack.merchant.count_orders() == 1
    assert (await stack.view(session_id)).status == "completed"
    await _claimed(stack, session_id, str(uuid.uuid4()))


async def test_the_replay_of_a_lost_complete_is_claimed_after_the_close_grace(
    time_travel_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Invariant 2 (keys honoured for 48 h), decision 0001: the platform replays after Retry-After, often later than
    the 10 s close grace; a session completed by the webhook stays open until its lost complete is claimed, so
    the late replay still gets 200 completed; then it closes, and its replays are answered from the result.
    Before: the workflow had closed after the grace and the closed path refused the replay (409)."""
    async with connector_stack(time_travel_env, tmp_path) as stack:
        session_id = await _completed_by_the_webhook(stack, rows=False)
        await advance(time_travel_env, 30 * CLOSE_GRACE)
        assert (await _checkout(stack, session_id).describe()).status == WorkflowExecutionStatus.RUNNING
        view = await stack.view(session_id)
        assert "platform_may_replay_lost_complete" in view.pending_actions
        key = str(uuid.uuid4())
        replayed = await _claimed(stack, session_id, key)
        await advance(time_travel_env, 2 * CLOSE_GRACE)
        final = await _checkout(stack, session_id).result()
        assert final.status == "completed" and final.closed is not None
        assert (await _checkout(stack, session_id).describe()).status == WorkflowExecutionStatus.COMPLETED
        assert await stack.operate(session_id, Operation.COMPLETE, payment_body(), key=key) == replayed
        assert await stack.merchant.count_orders() == 1
