"""The session's calls to its merchant: discovery, and every UCP operation, each one audited.

Every call that changes something at the merchant draws the next *operation
sequence* number from the session state; the merchant-facing
``Idempotency-Key`` is derived from (workflow id, sequence), so an activity
retried after a crash re-sends the same key and the merchant answers from its
cache instead of placing a second order (DESIGN.md invariant 4). A failure
comes back as the frozen :class:`~contracts.UcpError` the platform will see,
decoded by the one error codec (``activities/errors.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from activities.errors import decode_failure
from activities.types import (
    ActivityName,
    CallMerchantInput,
    DiscoverMerchantInput,
    MerchantOperation,
    MerchantProfileSummary,
    MerchantReply,
)
from contracts import ErrorCode, UcpError, canonical_json, content_digest, outbound_idempotency_key
from workflows import activity_options
from workflows.outbox import Outbox
from workflows.types import SessionStart, SessionState


class MerchantCalls:
    def __init__(self, start: SessionStart, state: SessionState, outbox: Outbox) -> None:
        self._start = start
        self._state = state
        self._outbox = outbox

    async def discover(self) -> MerchantProfileSummary | UcpError:
        """The merchant's profile: endpoint, negotiated version and capabilities (its keys stay in the worker)."""
        try:
            summary: MerchantProfileSummary = await activity_options.execute(
                ActivityName.DISCOVER_MERCHANT,
                DiscoverMerchantInput(merchant_id=self._start.merchant_id),
                summary=f"discover {self._start.merchant_id}",
                result_type=MerchantProfileSummary,
            )
        except ActivityError as error:
            return _failure(error, ErrorCode.PROFILE_UNREACHABLE)
        return summary

    async def call(
        self, operation: MerchantOperation, resource_id: str | None, body: dict[str, Any] | None = None
    ) -> MerchantReply | UcpError:
        """One signed, verified UCP call, audited as ``merchant.{operation}`` whatever its outcome."""
        self._state.merchant_call_seq += 1
        key = (
            outbound_idempotency_key(workflow.info().workflow_id, self._state.merchant_call_seq)
            if operation.method != "GET"
            else None
        )
        request_digest = None if body is None else content_digest(canonical_json(body))
        try:
            reply: MerchantReply = await activity_options.execute(
                ActivityName.CALL_MERCHANT,
                CallMerchantInput(
                    merchant_id=self._start.merchant_id,
                    operation=operation,
                    resource_id=resource_id,
                    body=body,
                    idempotency_key=key,
                ),
                operation=operation,
                attempt=dt.timedelta(seconds=self._start.merchant_call_timeout_seconds),
                summary=f"{operation.value} at {self._start.merchant_id}",
                result_type=MerchantReply,
            )
        except ActivityError as error:
            failure = _failure(error, ErrorCode.MERCHANT_UNAVAILABLE)
            self._outbox.audit(
                actor="connector",
                action=f"merchant.{operation.value}",
                outcome="failed",
                error_code=failure.code.value,
                request_digest=request_digest,
                payload={"merchant_idempotency_key": key, "detail": failure.detail},
            )
            return failure
        self._outbox.audit(
            actor="connector",
            action=f"merchant.{operation.value}",
            outcome="succeeded",
            request_digest=request_digest,
            response_digest=reply.response_digest,
            payload={
                "merchant_idempotency_key": key,
                "http_status": reply.status_code,
                "signed_by": reply.signed_by,
                **({"release": reply.release} if reply.release else {}),
                # the merchant's policy let an unsigned answer through: every such answer is on the record
                **({"unsigned_response_accepted": True} if reply.unsigned_accepted else {}),
                **({"merchant_auth": reply.auth} if reply.auth else {}),
            },
        )
        return reply


def _failure(error: ActivityError, default: ErrorCode) -> UcpError:
    """Turn an activity's final failure into the frozen error the platform will see."""
    cause = error.cause
    if isinstance(cause, TemporalTimeoutError):
        return UcpError("the merchant did not answer in time", code=ErrorCode.MERCHANT_TIMEOUT)
    return decode_failure(cause) or UcpError(str(cause or error), code=default)
