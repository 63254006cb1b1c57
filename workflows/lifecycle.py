"""Pure rules of the UCP checkout lifecycle and of a session, kept out of the workflow class so they are easy to test.

Status machine (checkout.md "Checkout Status Lifecycle"): ``incomplete <->
requires_escalation``, ``incomplete -> ready_for_complete ->
complete_in_progress -> completed``, any non-terminal -> ``canceled``. The
merchant's status is authoritative; these rules only decide which *platform
operations* may be attempted in a status, so an illegal one is refused before
anything is sent or written (DESIGN.md "Checkout lifecycle").

Assumptions where the spec is silent:

* ``update`` is allowed while ``incomplete``, ``requires_escalation`` (to fix
  recoverable errors first, CHK-04) or ``ready_for_complete``;
* ``cancel`` is refused during ``complete_in_progress``: the spec leaves it
  ambiguous (CMP-14) and an order may be on its way, so the connector waits for
  the merchant's outcome instead of racing it;
* ``complete`` from ``ready_for_complete`` (CMP-01), and from
  ``requires_escalation`` only to retry after the buyer's hand-off (CMP-05):
  the workflow reads the merchant first and completes only if it says
  ``ready_for_complete``; otherwise it answers the escalation again (CHK-03);
* a terminal status is final: a merchant answer saying otherwise arrived late.

The session's rules read its :class:`~workflows.types.SessionState` and decide
without side effects: which request may be admitted (invariants 2-3), which
status a merchant's answer moves the session to, when to poll (CMP-03), when to
re-read it (CHK-16), when its idempotency window ends, and what the Query shows.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Final

from activities.types import MerchantOperation
from contracts import ErrorCode, UcpError
from contracts.timestamps import parse_instant
from contracts.ucp import CheckoutStatus
from contracts.ucp.complete_checks import complete_refusal
from contracts.ucp.outcomes import STATUSES as STATUSES  # re-exported: the rules read them from here
from contracts.ucp.outcomes import is_error_envelope as is_error_envelope
from contracts.ucp.outcomes import merchant_status as merchant_status
from workflows.types import (
    Operation,
    OperationRequest,
    OperationResult,
    PolicySnapshot,
    SessionStart,
    SessionState,
    SessionView,
)

INCOMPLETE: Final = CheckoutStatus.INCOMPLETE
REQUIRES_ESCALATION: Final = CheckoutStatus.REQUIRES_ESCALATION
READY_FOR_COMPLETE: Final = CheckoutStatus.READY_FOR_COMPLETE
COMPLETE_IN_PROGRESS: Final = CheckoutStatus.COMPLETE_IN_PROGRESS
COMPLETED: Final = CheckoutStatus.COMPLETED
CANCELED: Final = CheckoutStatus.CANCELED
TERMINAL: Final = frozenset(status.value for status in CheckoutStatus if status.is_terminal)

# Issue 11.5: a stale merchant answer is dropped. Histories recorded before applied it; they replay unchanged.
STATUS_FORWARD_PATCH: Final = "status-forward"
# ORD-18: an order webhook completes a ready_for_complete session (its complete was lost on our side after the
# merchant placed the order). Histories recorded before kept such a session ready; they replay unchanged.
ORDER_COMPLETES_READY_PATCH: Final = "order-completes-ready"
IDEMPOTENCY_WINDOW: Final = dt.timedelta(hours=48)  # DESIGN invariant 2: keys are honoured for 48 h
CLOSE_GRACE: Final = dt.timedelta(seconds=10)  # a finished session lingers this long before it completes (0001)
DEFAULT_SESSION_LIFETIME: Final = dt.timedelta(hours=6)  # checkout.md: expires_at defaults to 6 h
EXPIRY_RECHECK: Final = dt.timedelta(minutes=1)
POLL_INITIAL: Final = dt.timedelta(seconds=1)
POLL_MAX: Final = dt.timedelta(minutes=1)
MAX_REMEMBERED_WEBHOOK_IDS: Final = 500
# Issue 12.11: a session whose create update never arrives closes after this, failed, with this reason.
CREATE_DEADLINE: Final = dt.timedelta(minutes=10)
NEVER_CREATED: Final = "create_never_arrived"
NEVER_CREATED_TEXT: Final = (
    "the create request never reached this session (lost, e.g. in a Temporal restart, after the platform was "
    "answered 503) and it closed after 10 minutes; a retry of the create with the same Idempotency-Key starts afresh"
)

ALLOWED_FROM: Final[dict[Operation, frozenset[str]]] = {
    Operation.UPDATE: frozenset({INCOMPLETE, REQUIRES_ESCALATION, READY_FOR_COMPLETE}),
    Operation.COMPLETE: frozenset({READY_FOR_COMPLETE, REQUIRES_ESCALATION}),
    Operation.CANCEL: frozenset({INCOMPLETE, REQUIRES_ESCALATION, READY_FOR_COMPLETE}),
    Operation.REFRESH: frozenset(STATUSES),
}


MERCHANT_OPERATION: Final[dict[Operation, MerchantOperation]] = {
    Operation.CREATE: MerchantOperation.CREATE,
    Operation.UPDATE: MerchantOperation.UPDATE,
    Operation.COMPLETE: MerchantOperation.COMPLETE,
    Operation.CANCEL: MerchantOperation.CANCEL,
    Operation.REFRESH: MerchantOperation.GET,
}
# Failures after which a complete's outcome is unknown: the merchant may have placed the order.
OUTCOME_UNKNOWN: Final = frozenset(
    {
        ErrorCode.MERCHANT_SIGNATURE_INVALID,
        ErrorCode.MERCHANT_RESPONSE_INVALID,
        ErrorCode.MERCHANT_TIMEOUT,
        ErrorCode.MERCHANT_UNAVAILABLE,
    }
)


def result(operation: Operation, request: OperationRequest, status: int, body: dict[str, Any]) -> OperationResult:
    return OperationResult(operation=operation, http_status=status, body=body, request_digest=request.body_digest)


def error_result(operation: Operation, request: OperationRequest, error: UcpError) -> OperationResult:
    return result(operation, request, error.http_status, error.to_json_dict())


def transition_error(operation: Operation, status: str | None) -> UcpError | None:
    """Why ``operation`` may not run in ``status`` (``None`` when it may)."""
    if operation is Operation.CREATE:
        return None
    if status is None:
        return UcpError("the checkout session does not exist", code=ErrorCode.NOT_FOUND)
    if status not in ALLOWED_FROM[operation]:
        return UcpError(
            f"{operation.value} is not allowed while the checkout is {status}",
            code=ErrorCode.TRANSITION_INVALID,
            detail={"operation": operation.value, "status": status},
        )
    return None


def grand_total(checkout: dict[str, Any]) -> int | None:
    """The authoritative ``total`` entry of ``totals[]`` (exactly one per checkout.md "Total")."""
    for entry in checkout.get("totals") or []:
        if isinstance(entry, dict) and entry.get("type") == "total" and isinstance(entry.get("amount"), int):
            return int(entry["amount"])
    return None


def policy_error(policy: PolicySnapshot, checkout: dict[str, Any]) -> UcpError | None:
    """Why the platform's spend policy forbids completing this checkout (``None`` when it allows it)."""
    currency = checkout.get("currency")
    if policy.allowed_currencies is not None and currency not in policy.allowed_currencies:
        return UcpError(
            f"currency {currency} is not allowed for this platform",
            code=ErrorCode.POLICY_DENIED,
            detail={"reason": "currency", "currency": str(currency)},
        )
    if policy.max_total is not None:
        total = grand_total(checkout)
        if total is None or total > policy.max_total:
            return UcpError(
                f"checkout total {total} exceeds the platform's limit {policy.max_total}",
                code=ErrorCode.POLICY_DENIED,
                detail={"reason": "max_total", "total": total, "max_total": policy.max_total},
            )
    return None


def expires_at(checkout: dict[str, Any]) -> dt.datetime | None:
    return parse_instant(checkout.get("expires_at"))


def presented_checkout(checkout: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The merchant's checkout as the platform sees it: same body, the connector's session id.

    The platform addresses the session by the connector's id (DESIGN.md
    invariant 3); the merchant's checkout id stays in workflow state.
    """
    presented = copy.deepcopy(checkout)
    presented["id"] = session_id
    return presented


def request_error(
    operation: Operation, request: OperationRequest, merchant_id: str, state: SessionState
) -> UcpError | None:
    """Why this request names no session it may act on: another merchant, a reused key, create twice (invariants 2-3).

    A replay (same key, same operation, same digest) passes: the handler answers it from the record.
    """
    if request.merchant_id is not None and request.merchant_id != merchant_id:
        # The session exists, but not at the merchant the platform named: do not reveal it (404).
        return UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    record = state.idempotency.get(request.idempotency_key)
    if record is not None:
        if record.operation != operation or record.digest != request.body_digest:
            return UcpError(
                "this Idempotency-Key was already used with a different request",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                detail={"operation": record.operation.value},
            )
        return None
    if operation is Operation.CREATE and state.created:
        return UcpError("the session already exists", code=ErrorCode.TRANSITION_INVALID)
    if operation is not Operation.CREATE and not state.created:
        return UcpError("the checkout session does not exist", code=ErrorCode.NOT_FOUND)
    return None


def refusal(operation: Operation, state: SessionState, policy: PolicySnapshot) -> UcpError | None:
    """Why ``operation`` may not run now: a transition the spec forbids, or the platform's spend policy."""
    error = transition_error(operation, state.status)
    if error is None and operation is Operation.COMPLETE and state.checkout is not None:
        error = policy_error(policy, state.checkout)
    return error


def safety_refusal(operation: Operation, state: SessionState, body: dict[str, Any] | None) -> UcpError | None:
    """Why the connector will not send this ``complete`` (``contracts.ucp.complete_checks``: CMP-06, PAY-04).

    Called by the ``complete`` validator only: a validator is not replayed, so
    a history recorded before these checks existed replays unchanged. A
    complete admitted while an update was still changing the checkout is
    checked against the checkout it was admitted on.
    """
    if operation is not Operation.COMPLETE or state.checkout is None:
        return None
    return complete_refusal(state.checkout, body)


def outcome_unknown(operation: Operation, error: UcpError) -> bool:
    """A complete that failed this way may have placed the order: poll until the merchant says (invariant 4)."""
    return operation is Operation.COMPLETE and error.code in OUTCOME_UNKNOWN


def reported_status(state: SessionState, checkout: dict[str, Any]) -> str | None:
    """The status the merchant's ``checkout`` moves the session to, or ``None`` when it stays where it is."""
    status = merchant_status(checkout)
    return None if status is None or status == state.status else status


def contradicts_final(state: SessionState, checkout: dict[str, Any]) -> bool:
    """A merchant answer that would move a finished session (completed, canceled) elsewhere: stale, dropped."""
    status = merchant_status(checkout)
    return state.status in TERMINAL and status is not None and status != state.status


def completing_view(view: SessionView) -> SessionView:
    """The view while a platform's complete runs: ``complete_in_progress``, as the API's bounded wait answers it."""
    if view.status in TERMINAL or view.checkout is None:
        return view
    checkout = {**view.checkout, "status": COMPLETE_IN_PROGRESS}
    return view.model_copy(update={"status": COMPLETE_IN_PROGRESS, "checkout": checkout})


def current_details(state: SessionState, checkout: dict[str, Any], business: list[str]) -> str:
    """The workflow's *current details* in the Temporal UI: status, the merchant's refusals, what it waits for.

    UI text (scrubbed by the payload converter, ``core.temporal.ui_metadata``); only status names,
    message codes and the operator's action names, never a checkout body. ``checkout`` is the
    merchant's answer being applied: its status is the session's from now on.
    """
    status = merchant_status(checkout) or state.status
    lines = [f"**status** {status or 'creating'}"]
    if business:
        lines.append(f"**merchant said** {', '.join(business)}")
    waiting = pending_actions(state.model_copy(update={"status": status}))
    if waiting:
        lines.append(f"**waiting for** {', '.join(waiting)}")
    return "  \n".join(lines)


def awaiting_outcome(state: SessionState) -> bool:
    """The merchant is completing, or a complete's outcome is unknown: the workflow polls (CMP-03)."""
    return state.status == COMPLETE_IN_PROGRESS or state.reconcile


def poll_backoff(polls: int) -> dt.timedelta:
    backoff: dt.timedelta = POLL_INITIAL * (2 ** min(polls, 10))
    return min(POLL_MAX, backoff)


def window_end(state: SessionState) -> dt.datetime | None:
    """When the idempotency window of a finished (or never created) session ends; ``None`` while it is open."""
    if state.status is not None and state.status not in TERMINAL:
        return None
    return (state.closed_at or state.created_at) + IDEMPOTENCY_WINDOW


def window_closed(state: SessionState, now: dt.datetime) -> bool:
    end = window_end(state)
    return end is not None and now >= end


def expiry_check_due(state: SessionState) -> dt.datetime:
    """When to re-read the session: at ``expires_at`` (else 6 h after the last change), then once a minute (CHK-16)."""
    last_change = state.status_history[-1].at if state.status_history else state.created_at
    due = (state.checkout and expires_at(state.checkout)) or (last_change + DEFAULT_SESSION_LIFETIME)
    if state.last_expiry_check is not None:
        due = max(due, state.last_expiry_check + EXPIRY_RECHECK)
    return due


def waits_for_expiry(state: SessionState, due: dt.datetime) -> bool:
    """Still waiting for the same expiry check: not finished, not polling, the same due time."""
    return window_end(state) is None and not awaiting_outcome(state) and expiry_check_due(state) == due


def order_id(state: SessionState) -> str | None:
    """The merchant's order id, from a webhook snapshot or the completed checkout's ``order``."""
    for source in (state.order, (state.checkout or {}).get("order")):
        if isinstance(source, dict) and isinstance(source.get("id"), str):
            return str(source["id"])
    return None


def completed_by_order(
    state: SessionState, order: dict[str, Any], *, from_ready: bool = False
) -> dict[str, Any] | None:
    """The checkout a signed order webhook proves ``completed`` (ORD-18), or ``None`` when it proves nothing new.

    A session waiting on the merchant (``complete_in_progress`` or an unknown complete outcome) moves; with
    ``from_ready`` (:data:`ORDER_COMPLETES_READY_PATCH`) a ``ready_for_complete`` one too: the merchant
    placed the order, so a complete happened there that this session never learned of (its workflow task
    lost after the merchant answered, issue 11.5). A terminal status stays final.
    """
    if state.checkout is None or state.status == COMPLETED:
        return None
    if not (awaiting_outcome(state) or (from_ready and order_completes_ready(state))):
        return None
    confirmation = {key: order[key] for key in ("id", "permalink_url") if isinstance(order.get(key), str)}
    return {**state.checkout, "status": COMPLETED, "order": confirmation}


def order_completes_ready(state: SessionState) -> bool:
    """A ``ready_for_complete`` session that an order webhook would complete (ORD-18; see ``completed_by_order``)."""
    return state.status == READY_FOR_COMPLETE and state.checkout is not None


def order_with_currency(order: dict[str, Any], checkout: dict[str, Any] | None) -> dict[str, Any]:
    """An order in the canonical shape, which names its currency: a 2026-01-11 order does not, its checkout does."""
    if "currency" in order or is_error_envelope(order) or not isinstance((checkout or {}).get("currency"), str):
        return order
    return {**order, "currency": (checkout or {})["currency"]}


def merchant_forgot(error: UcpError) -> bool:
    """After expiry a merchant may forget the session (CHK-16/17): a 404 means it is gone, i.e. canceled."""
    return error.code is ErrorCode.MERCHANT_REQUEST_REJECTED and error.detail.get("http_status") == 404


def session_view(start: SessionStart, state: SessionState, outbox_pending: list[str]) -> SessionView:
    """The Query answer: the session as the platform and an operator see it, without touching the merchant.

    While a platform's complete runs, ``complete_in_progress``, as the API's bounded wait answers it (11.5);
    so too while the workflow reconciles a complete whose outcome is unknown (``state.reconcile``): the
    merchant may have placed the order, and the API answered ``complete_in_progress`` for it.
    """
    view = SessionView(
        platform_id=start.platform_id,
        session_id=start.session_id,
        merchant_id=start.merchant_id,
        merchant_checkout_id=state.merchant_checkout_id,
        merchant_version=state.merchant.version if state.merchant is not None else None,
        status=state.status,
        checkout=presented_checkout(state.checkout, start.session_id) if state.checkout is not None else None,
        order=state.order,
        status_history=state.status_history,
        pending_actions=pending_actions(state) + outbox_pending,
        created_at=state.created_at,
        closed_at=state.closed_at,
        closed_reason=state.closed_reason,
    )
    return completing_view(view) if complete_running(state) or state.reconcile else view


def complete_running(state: SessionState) -> bool:
    """A platform's complete has been accepted and has no result yet (its record is written first)."""
    return any(
        record.operation is Operation.COMPLETE and record.result is None for record in state.idempotency.values()
    )


def pending_actions(state: SessionState) -> list[str]:
    """What the session is waiting for, as an operator reads it (``session show``, the Query)."""
    actions = []
    if state.status == REQUIRES_ESCALATION:
        actions.append("buyer_handoff_via_continue_url")
    if awaiting_outcome(state):
        actions.append("polling_merchant_for_outcome")
    if state.status == READY_FOR_COMPLETE:
        actions.append("platform_may_complete")
    if state.lost_complete_seq is not None:
        actions.append("platform_may_replay_lost_complete")  # workflows/claims.py: the session stays open for it
    return actions
