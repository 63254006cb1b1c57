"""How a failed Temporal call reaches the platform: always a frozen UCP code, never a 500.

* a Workflow Update the workflow refused → the ``UcpError`` the workflow
  encoded (``activities.errors``, the one error codec);
* no such workflow → ``404 not_found`` (another platform's session included:
  existence does not leak);
* a closed workflow → ``409 transition_invalid`` (``session_closed``): its
  idempotency window has passed;
* the engine unreachable, timing out or refusing the call → ``503
  service_unavailable`` with ``Retry-After``: fail closed, nothing half-created
  (DESIGN.md invariant 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import decode_failure
from contracts import ErrorCode, UcpError

RETRY_AFTER_SECONDS: Final = 2


def engine_unavailable(reason: str) -> UcpError:
    return UcpError(
        "the workflow engine is unavailable; nothing was executed, retry later",
        code=ErrorCode.SERVICE_UNAVAILABLE,
        retry_after=RETRY_AFTER_SECONDS,
        detail={"reason": reason},
    )


def workflow_closed(error: RPCError) -> bool:
    """The workflow exists but has finished: Temporal's "workflow execution already completed"."""
    return "already completed" in error.message


def _from_update_failure(error: WorkflowUpdateFailedError) -> UcpError:
    return decode_failure(error.cause) or UcpError("the operation failed", code=ErrorCode.INTERNAL_ERROR)


def _from_rpc(error: RPCError) -> UcpError:
    if error.status == RPCStatusCode.NOT_FOUND:
        return UcpError("no such checkout session", code=ErrorCode.NOT_FOUND)
    if error.status == RPCStatusCode.FAILED_PRECONDITION or workflow_closed(error):
        return UcpError(
            "the session is closed; its idempotency window has passed",
            code=ErrorCode.TRANSITION_INVALID,
            detail={"reason": "session_closed"},
        )
    return engine_unavailable(error.status.name.lower() if error.status else "rpc_error")


@contextlib.contextmanager
def temporal_errors() -> Iterator[None]:
    """Map every way a Temporal call can fail to a frozen code; anything else is re-raised untouched."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        raise _from_update_failure(exc) from exc
    except RPCError as exc:
        raise _from_rpc(exc) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise engine_unavailable("timeout") from exc
    except RuntimeError as exc:  # the lazy client could not connect at all
        if "connect" not in str(exc).lower():
            raise
        raise engine_unavailable("unreachable") from exc
