"""Checkout messages (types/message_*.json) and the status they imply (checkout.md "Status Values").

The status of an open session is *derived* from its messages: any error whose
severity is ``requires_buyer_input``/``requires_buyer_review`` means
``requires_escalation`` (CHK-09), any other error ``incomplete``, none
``ready_for_complete``.
"""

from __future__ import annotations

from typing import Any

from contracts.ucp import CheckoutStatus, Severity


def error(code: str, content: str, severity: Severity, path: str | None = None) -> dict[str, Any]:
    """An error message; standard codes come from ``ErrorCode`` (a StrEnum, so they serialise as their value)."""
    message: dict[str, Any] = {"type": "error", "code": str(code), "content": content, "severity": severity.value}
    if path is not None:
        message["path"] = path
    return message


def warning(code: str, content: str, path: str | None = None, **extra: str) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "warning", "code": str(code), "content": content, **extra}
    if path is not None:
        message["path"] = path
    return message


def info(code: str, content: str) -> dict[str, Any]:
    return {"type": "info", "code": code, "content": content}


def derive_status(messages: list[dict[str, Any]]) -> CheckoutStatus:
    errors = [message for message in messages if message["type"] == "error"]
    if any(Severity(message["severity"]).requires_escalation for message in errors):
        return CheckoutStatus.REQUIRES_ESCALATION
    if errors:
        return CheckoutStatus.INCOMPLETE
    return CheckoutStatus.READY_FOR_COMPLETE
