"""How an activity reports a failure so the workflow (and then the platform) sees a frozen code.

The ``ApplicationError.type`` is the ``ErrorCode`` value and ``details[0]`` its
machine-readable detail; ``non_retryable`` tells Temporal whether trying again
can help. ``next_retry_delay`` carries a peer's ``Retry-After`` (TRN-10).
"""

from __future__ import annotations

import datetime as dt

from temporalio.exceptions import ApplicationError

from contracts import ErrorCode, UcpError


def profile_failure(error: UcpError) -> ApplicationError:
    """A profile that could not be read: retry while it is unreachable, not while it is malformed or untrusted."""
    return application_error(error, retryable=error.code is ErrorCode.PROFILE_UNREACHABLE)


def application_error(error: UcpError, *, retryable: bool, retry_after: float | None = None) -> ApplicationError:
    return ApplicationError(
        error.content,
        error.detail,
        type=error.code.value,
        non_retryable=not retryable,
        next_retry_delay=dt.timedelta(seconds=retry_after) if retry_after is not None else None,
    )
