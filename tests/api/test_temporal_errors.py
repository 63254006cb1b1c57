"""Every way a Temporal call fails becomes a frozen UCP code (api.temporal_errors), never a 500.

The exceptions are the Temporal SDK's own types, built as the SDK raises them;
the end-to-end 503 on a dead Temporal is test_front_door's. DESIGN invariant 2,
IDM-06, TRN-10.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import encode_failure
from api.temporal_errors import RETRY_AFTER_SECONDS, temporal_errors
from contracts import ErrorCode, UcpError


def _mapped(failure: BaseException) -> UcpError:
    with pytest.raises(UcpError) as raised, temporal_errors():
        raise failure
    assert raised.value.__cause__ is failure, "the Temporal failure stays attached for the logs"
    return raised.value


@pytest.mark.parametrize(
    ("failure", "code", "reason"),
    [
        (RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""), ErrorCode.NOT_FOUND, None),
        (
            RPCError("precondition", RPCStatusCode.FAILED_PRECONDITION, b""),
            ErrorCode.TRANSITION_INVALID,
            "session_closed",
        ),
        (
            RPCError("workflow execution already completed", RPCStatusCode.INVALID_ARGUMENT, b""),
            ErrorCode.TRANSITION_INVALID,
            "session_closed",
        ),
        (RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""), ErrorCode.SERVICE_UNAVAILABLE, "unavailable"),
        (RPCError("slow", RPCStatusCode.DEADLINE_EXCEEDED, b""), ErrorCode.SERVICE_UNAVAILABLE, "deadline_exceeded"),
        (WorkflowUpdateRPCTimeoutOrCancelledError(), ErrorCode.SERVICE_UNAVAILABLE, "timeout"),
        (RuntimeError("Failed client connect: tcp connect error"), ErrorCode.SERVICE_UNAVAILABLE, "unreachable"),
    ],
)
def test_temporal_failures_map_to_frozen_codes(failure: BaseException, code: ErrorCode, reason: str | None) -> None:
    error = _mapped(failure)
    assert error.code is code
    assert error.detail.get("reason") == reason
    if code is ErrorCode.SERVICE_UNAVAILABLE:
        assert error.http_status == 503 and error.retry_after == RETRY_AFTER_SECONDS


def test_a_refused_update_carries_the_workflows_own_error() -> None:
    """The validator's UcpError crosses the boundary through the one codec (activities.errors), detail included."""
    refusal = UcpError("over the limit", code=ErrorCode.POLICY_DENIED, detail={"reason": "max_total"})
    error = _mapped(WorkflowUpdateFailedError(encode_failure(refusal)))
    assert (error.code, error.content, error.detail) == (ErrorCode.POLICY_DENIED, "over the limit", refusal.detail)


def test_a_refused_update_without_a_frozen_code_is_an_internal_error() -> None:
    error = _mapped(WorkflowUpdateFailedError(ApplicationError("boom", type="NotOurs")))
    assert error.code is ErrorCode.INTERNAL_ERROR and error.http_status == 500


@pytest.mark.parametrize("failure", [RuntimeError("event loop is closed"), ValueError("a bug")])
def test_other_failures_are_not_disguised(failure: Exception) -> None:
    """Only connection failures are 503; anything else stays itself (logged as a bug, answered 500 internal_error)."""
    with pytest.raises(type(failure)) as raised, temporal_errors():
        raise failure
    assert raised.value is failure
