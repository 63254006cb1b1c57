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
from dataclasses import dataclass
from typing import Any, Final

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from activities import records
from activities.errors import decode_failure
from activities.types import (
    ActivityName,
    CallMerchantInput,
    DiscoverMerchantInput,
    MerchantOperation,
    MerchantOperationInput,
    MerchantOperationResult,
    MerchantProfileSummary,
    MerchantReply,
    OperationContext,
    StorageWrite,
)
from contracts import ErrorCode, UcpError, canonical_json, content_digest, outbound_idempotency_key
from workflows import activity_options
from workflows.outbox import Outbox
from workflows.types import SessionStart, SessionState

# Asked only when an operation's records went after a lost task's rows (storage/orphans.py), so other
# sessions' histories carry no marker.
OPERATION_ORPHANS_PATCH: Final = "operation-orphans-adopted"


@dataclass(frozen=True)
class PlatformAnswer:
    """The platform operation a merchant call answers: its name, success status and request digest."""

    operation: str
    success_status: int
    request_digest: str

    @classmethod
    def of(cls, operation: str, request_digest: str) -> PlatformAnswer:
        return cls(operation, 201 if operation == "create" else 200, request_digest)


class MerchantCalls:
    def __init__(self, start: SessionStart, state: SessionState, outbox: Outbox) -> None:
        self._start = start
        self._state = state
        self._outbox = outbox
        # After an operation's call: (prelude, the records its activity stored or None) for Outbox.settle.
        self.pending: tuple[list[StorageWrite], list[StorageWrite] | None] | None = None

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
        self,
        operation: MerchantOperation,
        resource_id: str | None,
        body: dict[str, Any] | None = None,
        *,
        answer: PlatformAnswer | None = None,
        seq: int | None = None,
    ) -> MerchantReply | UcpError:
        """One signed, verified UCP call, audited as ``merchant.{operation}`` whatever its outcome.

        With ``answer`` (a platform operation of a current session) the call is ``merchant_operation``,
        which stores the operation's records itself (``activities/operation.py``); :attr:`pending` then
        holds what the outbox must settle once the workflow has decided the answer. With ``seq`` the call
        re-sends under a sequence drawn before (a lost complete's, ``workflows/claims.py``).
        """
        if seq is None:
            self._state.merchant_call_seq += 1
            seq = self._state.merchant_call_seq
        key = outbound_idempotency_key(workflow.info().workflow_id, seq) if operation.method != "GET" else None
        call = CallMerchantInput(
            merchant_id=self._start.merchant_id,
            operation=operation,
            resource_id=resource_id,
            body=body,
            idempotency_key=key,
        )
        attempt = dt.timedelta(seconds=self._start.merchant_call_timeout_seconds)
        summary = f"{operation.value} at {self._start.merchant_id}"
        if answer is not None:
            return await self._operate(call, answer, attempt, summary)
        request_digest = None if body is None else content_digest(canonical_json(body))
        try:
            reply: MerchantReply = await activity_options.execute(
                ActivityName.CALL_MERCHANT,
                call,
                operation=operation,
                attempt=attempt,
                summary=summary,
                result_type=MerchantReply,
            )
        except ActivityError as error:
            return self._failed(operation, key, request_digest, _failure(error, ErrorCode.MERCHANT_UNAVAILABLE))
        self._succeeded(operation, key, request_digest, reply)
        return reply

    def settle(self) -> bool:
        """After the platform's answer is decided: settle the operation's records; True if its activity stored them."""
        pending, self.pending = self.pending, None
        if pending is None:
            return False
        prelude, stored = pending
        self._outbox.settle(prelude, stored)
        return stored is not None

    async def _operate(
        self, call: CallMerchantInput, answer: PlatformAnswer, attempt: dt.timedelta, summary: str
    ) -> MerchantReply | UcpError:
        while self._outbox.writing:  # the activity's records must follow what is being written now
            await self._outbox.stored()
        prelude = self._outbox.begin_operation()
        context = self._context(answer, prelude)
        try:
            result: MerchantOperationResult = await activity_options.execute_operation(
                MerchantOperationInput(call=call, context=context),
                operation=call.operation,
                attempt=attempt,
                local_attempt=self._local_attempt(),
                summary=summary,
                result_type=MerchantOperationResult,
            )
        except ActivityError as error:
            # Nothing was stored: the records go through the outbox (the digest is computed here, rarely).
            self._outbox.decide_operation(context.occurred_at)
            self.pending = (prelude, None)
            digest = None if call.body is None else content_digest(canonical_json(call.body))
            return self._failed(
                call.operation, call.idempotency_key, digest, _failure(error, ErrorCode.MERCHANT_UNAVAILABLE)
            )
        self._outbox.decide_operation(context.occurred_at)
        outcome = result.failure or result.reply
        assert outcome is not None
        stored = records.operation_records(
            context, call.operation.value, call.idempotency_key, result.request_digest, outcome
        )
        if result.written is not None and workflow.patched(OPERATION_ORPHANS_PATCH):
            stored = self._outbox.operation_after_orphans(result.written, stored)
        self.pending = (prelude, stored)
        if result.failure is not None:
            return self._failed(
                call.operation, call.idempotency_key, result.request_digest, records.to_error(result.failure)
            )
        assert result.reply is not None
        self._succeeded(call.operation, call.idempotency_key, result.request_digest, result.reply)
        return result.reply

    def _local_attempt(self) -> dt.timedelta:
        """The local attempt ends within half the API's wait bound, so the update is accepted in time for it
        (a current session accepts an update only when the task with the local attempt ends)."""
        bound = self._start.answer_within_seconds
        local = activity_options.LOCAL_ATTEMPT
        return local if bound is None else min(local, dt.timedelta(seconds=bound / 2))

    def _context(self, answer: PlatformAnswer, prelude: list[StorageWrite]) -> OperationContext:
        state = self._state
        return OperationContext(
            platform_id=self._start.platform_id,
            session_id=self._start.session_id,
            merchant_id=self._start.merchant_id,
            operation=answer.operation,
            success_status=answer.success_status,
            status=state.status,
            version=len(state.status_history),
            created_at=state.created_at,
            merchant_checkout_id=state.merchant_checkout_id,
            order_id=records.order_id(state.order, None),
            next_seq=state.audit_seq + 1,
            occurred_at=workflow.now(),
            request_digest=answer.request_digest,
            prelude=prelude,
        )

    def _failed(
        self, operation: MerchantOperation, key: str | None, request_digest: str | None, failure: UcpError
    ) -> UcpError:
        self._outbox.audit(
            actor="connector",
            action=f"merchant.{operation.value}",
            outcome="failed",
            error_code=failure.code.value,
            request_digest=request_digest,
            payload={"merchant_idempotency_key": key, "detail": failure.detail},
        )
        return failure

    def _succeeded(
        self, operation: MerchantOperation, key: str | None, request_digest: str | None, reply: MerchantReply
    ) -> None:
        self._outbox.audit(
            actor="connector",
            action=f"merchant.{operation.value}",
            outcome=records.merchant_call_outcome(reply),
            request_digest=request_digest,
            response_digest=reply.response_digest,
            payload=records.merchant_call_payload(key, reply),
        )


def _failure(error: ActivityError, default: ErrorCode) -> UcpError:
    """Turn an activity's final failure into the frozen error the platform will see."""
    cause = error.cause
    if isinstance(cause, TemporalTimeoutError):
        return UcpError("the merchant did not answer in time", code=ErrorCode.MERCHANT_TIMEOUT)
    return decode_failure(cause) or UcpError(str(cause or error), code=default)
