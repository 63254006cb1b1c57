"""The audit trail of one platform operation, derived from the merchant's answer: pure, no I/O.

A platform operation that calls the merchant leaves, in this order (DESIGN.md
invariant 7, the order ``workflows.checkout`` decides them in):

1. ``merchant.{operation}`` — ``succeeded`` with the answer's digest and
   signer, or ``failed`` with its frozen code;
2. when the answer moves the session to a new status: the session's index row
   at that status, then ``status_changed``;
3. the platform's answer: ``accepted`` or ``rejected`` with its HTTP status.

``merchant_operation`` (``activities/operation.py``) stores exactly these
before it returns, so the workflow can answer in the same workflow task and an
answer is still never ahead of its audit trail; the workflow derives the same
records from the same inputs and checks that they match (``workflows/outbox.py``).
Everything a record carries comes from the :class:`~activities.types.OperationContext`
the workflow fixed when it called (time included) and from the answer, so a
retried call derives the same records.
"""

from __future__ import annotations

from typing import Any

from activities.types import (
    AuditRecord,
    MerchantReply,
    OperationContext,
    OperationFailure,
    SessionIndexRecord,
    StorageWrite,
)
from contracts import ErrorCode, UcpError
from contracts.ucp.outcomes import business_outcomes, is_error_envelope, merchant_status


def order_id(order: dict[str, Any] | None, checkout: dict[str, Any] | None) -> str | None:
    """The merchant's order id, from a webhook snapshot or the checkout's ``order`` confirmation."""
    for source in (order, (checkout or {}).get("order")):
        if isinstance(source, dict) and isinstance(source.get("id"), str):
            return str(source["id"])
    return None


def to_error(failure: OperationFailure) -> UcpError:
    return UcpError(
        failure.message,
        code=ErrorCode(failure.code),
        pointer=failure.pointer,
        detail=failure.detail,
        retry_after=failure.retry_after,
        continue_url=failure.continue_url,
    )


def from_error(error: UcpError) -> OperationFailure:
    return OperationFailure(
        code=error.code.value,
        message=error.content,
        pointer=error.pointer,
        detail=dict(error.detail),
        retry_after=error.retry_after,
        continue_url=error.continue_url,
    )


def merchant_call_payload(key: str | None, reply: MerchantReply) -> dict[str, Any]:
    return {
        "merchant_idempotency_key": key,
        "http_status": reply.status_code,
        "signed_by": reply.signed_by,
        **({"release": reply.release} if reply.release else {}),
        # the merchant's policy let an unsigned answer through: every such answer is on the record
        **({"unsigned_response_accepted": True} if reply.unsigned_accepted else {}),
        **({"merchant_auth": reply.auth} if reply.auth else {}),
        **({"business_outcomes": refusals} if (refusals := business_outcomes(reply.body)) else {}),
    }


def merchant_call_outcome(reply: MerchantReply) -> str:
    """``declined`` when the merchant's answer refuses what was asked (a declined payment, issue 16.3)."""
    return "declined" if business_outcomes(reply.body) else "succeeded"


def operation_records(
    context: OperationContext,
    merchant_operation: str,
    key: str | None,
    request_digest: str | None,
    outcome: MerchantReply | OperationFailure,
) -> list[StorageWrite]:
    """The records of one operation after the merchant answered (module docstring), seq from ``next_seq``."""
    records: list[StorageWrite] = []
    seq = context.next_seq
    status_after = context.status

    def audit(actor: str, action: str, outcome_: str, **fields: Any) -> None:
        nonlocal seq
        records.append(
            AuditRecord(
                platform_id=context.platform_id,
                session_id=context.session_id,
                seq=seq,
                occurred_at=context.occurred_at,
                actor=actor,
                action=action,
                outcome=outcome_,
                **fields,
            )
        )
        seq += 1

    if isinstance(outcome, OperationFailure):
        audit(
            "connector",
            f"merchant.{merchant_operation}",
            "failed",
            error_code=outcome.code,
            request_digest=request_digest,
            payload={"merchant_idempotency_key": key, "detail": outcome.detail},
        )
        error = to_error(outcome)
        http_status, error_code = error.http_status, error.code.value
    else:
        audit(
            "connector",
            f"merchant.{merchant_operation}",
            merchant_call_outcome(outcome),
            request_digest=request_digest,
            response_digest=outcome.response_digest,
            payload=merchant_call_payload(key, outcome),
        )
        http_status, error_code = 200, None
        if not is_error_envelope(outcome.body):
            http_status = context.success_status
            change = _status_change(context, outcome.body, seq)
            if change:
                status_after = merchant_status(outcome.body)
            records.extend(change)
            seq += sum(1 for record in change if isinstance(record, AuditRecord))
    audit(
        f"platform:{context.platform_id}",
        context.operation,
        "accepted" if http_status < 400 else "rejected",
        error_code=error_code if http_status >= 400 else None,
        request_digest=context.request_digest,
        payload={"http_status": http_status, "status": status_after},
    )
    return records


def _status_change(context: OperationContext, checkout: dict[str, Any], seq: int) -> list[StorageWrite]:
    """The index row and ``status_changed`` event when ``checkout`` moves the session to another status."""
    status = merchant_status(checkout)
    if status is None or status == context.status:
        return []
    checkout_id = context.merchant_checkout_id
    if context.operation == "create":
        checkout_id = checkout.get("id") if isinstance(checkout.get("id"), str) else None
    return [
        SessionIndexRecord(
            platform_id=context.platform_id,
            session_id=context.session_id,
            merchant_id=context.merchant_id,
            merchant_checkout_id=checkout_id,
            order_id=context.order_id or order_id(None, checkout),
            status=status,
            created_at=context.created_at,
            updated_at=context.occurred_at,
            version=context.version + 1,
        ),
        AuditRecord(
            platform_id=context.platform_id,
            session_id=context.session_id,
            seq=seq,
            occurred_at=context.occurred_at,
            actor="connector",
            action="status_changed",
            outcome="succeeded",
            payload={"status": status, "cause": context.operation},
        ),
    ]
