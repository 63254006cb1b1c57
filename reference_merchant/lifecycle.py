"""Which operation may run in which checkout status (checkout.md "Checkout Status Lifecycle").

=========================  ====================================================================
operation                  allowed from
=========================  ====================================================================
update                     ``incomplete``, ``requires_escalation``, ``ready_for_complete``
complete                   ``ready_for_complete`` only (CMP-01)
cancel                     ``incomplete``, ``requires_escalation``, ``ready_for_complete``
get                        any status
=========================  ====================================================================

Anything else answers ``409 transition_invalid`` with the protocol error body
``{"code", "content", "detail": {"status", "operation"}}`` (checkout-rest.md
"Error Responses"; CMP-11, CMP-13), plus ``continue_url`` when the buyer can
still act on the merchant's site. Nothing is changed.

Assumptions where the spec is silent:

* ``cancel`` during ``complete_in_progress`` is refused: the payment is being
  captured and the order is about to exist (requirements note D6).
* ``complete`` from ``incomplete``/``requires_escalation`` is a protocol error,
  not a business outcome, so a platform cannot mistake it for progress.
* ``expired`` sessions become ``canceled`` on their first access after
  ``expires_at`` (or when the background sweeper sees them); a session in
  ``complete_in_progress`` does not expire, since the buyer has already paid.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from contracts import ErrorCode, UcpError
from contracts.ucp import CheckoutStatus

S = CheckoutStatus
OPEN: Final = frozenset({S.INCOMPLETE, S.REQUIRES_ESCALATION, S.READY_FOR_COMPLETE})


class Action(StrEnum):
    UPDATE = "update"
    COMPLETE = "complete"
    CANCEL = "cancel"


ALLOWED: Final[dict[Action, frozenset[CheckoutStatus]]] = {
    Action.UPDATE: OPEN,
    Action.COMPLETE: frozenset({S.READY_FOR_COMPLETE}),
    Action.CANCEL: OPEN,
}


def require_allowed(action: Action, status: CheckoutStatus, *, continue_url: str | None = None) -> None:
    """Raise ``transition_invalid`` (409) unless ``action`` may run in ``status``."""
    if status in ALLOWED[action]:
        return
    raise UcpError(
        f"cannot {action.value} a checkout that is {status.value}",
        code=ErrorCode.TRANSITION_INVALID,
        detail={"status": status.value, "operation": action.value},
        continue_url=continue_url if status in OPEN else None,
    )


def expires(status: CheckoutStatus) -> bool:
    """Whether a session in ``status`` is canceled once ``expires_at`` has passed."""
    return status in OPEN
