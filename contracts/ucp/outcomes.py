"""Business outcomes in a merchant's answer: the codes of the error messages that refuse what was asked.

checkout.md "Messages": a declined payment (``payment_failed``), an item out of
stock (``out_of_stock``) come back as an ordinary answer carrying ``type:
"error"`` messages, not as a failed call. The audit trail records such a call as
``declined`` with these codes, and the workflow's current details name them
(issue 16.3). An escalation (severity ``requires_buyer_input`` /
``requires_buyer_review``) is no refusal: the buyer is asked to act on
``continue_url``, and the status says so.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.ucp.statuses import CheckoutStatus, ResponseStatus

STATUSES: Final = frozenset(status.value for status in CheckoutStatus)


def is_error_envelope(body: dict[str, Any]) -> bool:
    """UCP business outcome without a resource: ``ucp.status == "error"`` (CHK-07, TRN-15)."""
    ucp = body.get("ucp")
    return isinstance(ucp, dict) and ucp.get("status") == ResponseStatus.ERROR.value


def merchant_status(body: dict[str, Any]) -> str | None:
    """The merchant's checkout status when it is one UCP defines; anything else reads as none."""
    status = body.get("status")
    return status if isinstance(status, str) and status in STATUSES else None


def business_outcomes(body: dict[str, Any]) -> list[str]:
    """The codes of ``body``'s refusing error messages, in order (``"error"`` for one without a code)."""
    messages = body.get("messages")
    return [
        str(message.get("code") or "error")
        for message in (messages if isinstance(messages, list) else [])
        if isinstance(message, dict)
        and message.get("type") == "error"
        and not str(message.get("severity") or "").startswith("requires_")
    ]
