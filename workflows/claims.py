"""A platform's ``complete`` that claims an order its session learned of only from the merchant's webhook (11.5).

A ``complete``'s first merchant attempt runs inside the workflow task that
accepts its Update; when the Temporal server restarts before that task
completes, the merchant has placed the order and the session never saw the
complete. The API answered it ``202 operation_pending``, so the platform
replays it; when the merchant's order webhook got there first, it has already
completed the ``ready_for_complete`` session (``lifecycle.completed_by_order``).
Refusing the replay (``409 transition_invalid``) would tell the platform its
complete failed although its order exists (DESIGN.md "never charge twice").

The lost call drew the next operation sequence in a task that never reached
history, so that sequence is free again; the webhook *reserves* it for the
claim (:func:`reserve`). One ``complete`` on the completed session is then
admitted (:func:`refusal`) and re-sent to the merchant under the outbound
``Idempotency-Key`` of that sequence — the lost complete's own key
(``contracts.outbound_idempotency_key``). The merchant answers from its
idempotency cache: the same body gets the completed checkout (the claim is
used up, the platform gets 200 with the session's completed checkout), another
body its refusal (IDM-07), which the platform gets as the completed session's
transition refusal while the claim stays for the real replay. Nothing here
moves the status: the session is ``completed`` throughout, and the merchant
places no second order (its checkout is completed; invariant 4).

Assumption: no keyed merchant call ran between the lost task and the webhook
(a ``ready_for_complete`` session makes none on its own; a GET draws a sequence
number too, so an expiry re-read in between would shift the key, and the claim
would then be refused by the merchant, as before this module).
"""

from __future__ import annotations

from typing import Final

from activities.types import MerchantOperation
from contracts import ErrorCode, UcpError
from workflows import lifecycle
from workflows.merchant_calls import MerchantCalls
from workflows.types import Operation, OperationRequest, OperationResult, PolicySnapshot, SessionState

# Issue 11.5: an order webhook completing a ready session reserves the lost complete's sequence for one claim,
# and keeps the session open until it is claimed. Histories recorded before closed after the grace; they replay.
LOST_COMPLETE_CLAIM_PATCH: Final = "lost-complete-claim"
# Merchant answers that mean "this is not the complete that placed the order": the session's refusal stands.
_NOT_THE_LOST_COMPLETE: Final = frozenset({ErrorCode.MERCHANT_REQUEST_REJECTED})


def unclaimed(state: SessionState) -> bool:
    """An order webhook about to complete this ``ready_for_complete`` session proves a complete nobody here saw.

    Not while a complete of ours runs or is reconciled: that one gets the merchant's answer itself.
    """
    return lifecycle.order_completes_ready(state) and not state.reconcile and not lifecycle.complete_running(state)


def reserve(state: SessionState) -> None:
    """The lost complete's operation sequence, the next one, is the claim's; no later call draws it again."""
    state.merchant_call_seq += 1
    state.lost_complete_seq = state.merchant_call_seq


def claimable(operation: Operation, state: SessionState) -> bool:
    """A ``complete`` on a session an order webhook completed, whose order no platform complete has claimed yet."""
    return (
        operation is Operation.COMPLETE and state.status == lifecycle.COMPLETED and state.lost_complete_seq is not None
    )


def refusal(operation: Operation, state: SessionState, policy: PolicySnapshot) -> UcpError | None:
    """``lifecycle.refusal``, except that a claim passes the transition rule (the spend policy still applies)."""
    if claimable(operation, state) and state.checkout is not None:
        return lifecycle.policy_error(policy, state.checkout)
    return lifecycle.refusal(operation, state, policy)


async def claim(
    state: SessionState, merchant: MerchantCalls, request: OperationRequest, session_id: str
) -> OperationResult:
    """Re-send the complete under the lost complete's key; the merchant's cached answer decides (module docstring).

    A regular activity (not the one-task local attempt): the workflow audits the call and the answer
    itself, so the trail records the refusal the platform is given. A merchant that cannot be reached
    (after the complete's day of retries) is answered as such, and the claim stays.
    """
    assert state.lost_complete_seq is not None and state.checkout is not None
    outcome = await merchant.call(
        MerchantOperation.COMPLETE, state.merchant_checkout_id, request.body, seq=state.lost_complete_seq
    )
    if isinstance(outcome, UcpError) and outcome.code not in _NOT_THE_LOST_COMPLETE:
        return lifecycle.error_result(Operation.COMPLETE, request, outcome)
    if isinstance(outcome, UcpError) or lifecycle.merchant_status(outcome.body) != lifecycle.COMPLETED:
        refused = lifecycle.transition_error(Operation.COMPLETE, state.status)
        assert refused is not None
        return lifecycle.error_result(Operation.COMPLETE, request, refused)
    state.lost_complete_seq = None  # claimed: later completes are refused as on any completed session
    return lifecycle.result(Operation.COMPLETE, request, 200, lifecycle.presented_checkout(state.checkout, session_id))
