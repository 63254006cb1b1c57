"""The checkout's status and the response envelope's ``ucp.status`` (checkout.json, ucp.json; CHK-01, CHK-07).

Kept apart from the checkout models because the lifecycle rules, the order
models and the outcome readers all need the statuses and none of the rest.
"""

from __future__ import annotations

from enum import StrEnum


class CheckoutStatus(StrEnum):
    """The six checkout statuses (checkout.md "Status Values", CHK-01)."""

    INCOMPLETE = "incomplete"
    REQUIRES_ESCALATION = "requires_escalation"
    READY_FOR_COMPLETE = "ready_for_complete"
    COMPLETE_IN_PROGRESS = "complete_in_progress"
    COMPLETED = "completed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """``completed`` and ``canceled`` end a session; nothing may change it afterwards (CMP-11)."""
        return self in (CheckoutStatus.COMPLETED, CheckoutStatus.CANCELED)


class ResponseStatus(StrEnum):
    """``ucp.status``: ``success`` carries the resource, ``error`` carries only messages (CHK-07)."""

    SUCCESS = "success"
    ERROR = "error"
