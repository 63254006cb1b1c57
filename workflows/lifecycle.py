"""Pure rules of the UCP checkout lifecycle, kept out of the workflow class so they are easy to test.

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
* ``complete`` only from ``ready_for_complete`` (CMP-01).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Final

from contracts import ErrorCode, UcpError
from contracts.ucp import CheckoutStatus, ResponseStatus
from workflows.types import Operation, PolicySnapshot

INCOMPLETE: Final = CheckoutStatus.INCOMPLETE
REQUIRES_ESCALATION: Final = CheckoutStatus.REQUIRES_ESCALATION
READY_FOR_COMPLETE: Final = CheckoutStatus.READY_FOR_COMPLETE
COMPLETE_IN_PROGRESS: Final = CheckoutStatus.COMPLETE_IN_PROGRESS
COMPLETED: Final = CheckoutStatus.COMPLETED
CANCELED: Final = CheckoutStatus.CANCELED
STATUSES: Final = frozenset(status.value for status in CheckoutStatus)
TERMINAL: Final = frozenset(status.value for status in CheckoutStatus if status.is_terminal)

ALLOWED_FROM: Final[dict[Operation, frozenset[str]]] = {
    Operation.UPDATE: frozenset({INCOMPLETE, REQUIRES_ESCALATION, READY_FOR_COMPLETE}),
    Operation.COMPLETE: frozenset({READY_FOR_COMPLETE}),
    Operation.CANCEL: frozenset({INCOMPLETE, REQUIRES_ESCALATION, READY_FOR_COMPLETE}),
    Operation.REFRESH: frozenset(STATUSES),
}


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


def is_error_envelope(body: dict[str, Any]) -> bool:
    """UCP business outcome without a resource: ``ucp.status == "error"`` (CHK-07, TRN-15)."""
    ucp = body.get("ucp")
    return isinstance(ucp, dict) and ucp.get("status") == ResponseStatus.ERROR.value


def merchant_status(body: dict[str, Any]) -> str | None:
    status = body.get("status")
    return status if isinstance(status, str) and status in STATUSES else None


def expires_at(checkout: dict[str, Any]) -> dt.datetime | None:
    value = checkout.get("expires_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def presented_checkout(checkout: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The merchant's checkout as the platform sees it: same body, the connector's session id.

    The platform addresses the session by the connector's id (DESIGN.md
    invariant 3); the merchant's checkout id stays in workflow state.
    """
    presented = copy.deepcopy(checkout)
    presented["id"] = session_id
    return presented
