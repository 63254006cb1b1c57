"""The one codec for errors that cross Temporal: activity → workflow → API.

A :class:`~contracts.UcpError` becomes an ``ApplicationError`` whose ``type``
is the frozen ``ErrorCode`` value and whose ``details[0]`` is the error's JSON
body (``code``, ``content``, ``pointer``, ``detail``, plus ``retry_after``);
``non_retryable`` tells Temporal whether trying again can help and
``next_retry_delay`` carries a peer's ``Retry-After`` (TRN-10). The same
encoding serves an activity's failure and an Update validator's rejection, and
:func:`decode_failure` reads either back — in the workflow (an activity's last
failure) and in the API (a rejected or failed update). Nothing else in the
connector looks inside an ``ApplicationError``.

Pure (temporalio's exception types and ``contracts`` only), so the workflow may
import it through ``imports_passed_through``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from temporalio.exceptions import ApplicationError

from contracts import ErrorCode, UcpError


def encode_failure(error: UcpError, *, retryable: bool = False, retry_after: float | None = None) -> ApplicationError:
    body: dict[str, Any] = error.to_json_dict()
    if error.retry_after is not None:
        body["retry_after"] = error.retry_after
    return ApplicationError(
        error.content,
        body,
        type=error.code.value,
        non_retryable=not retryable,
        next_retry_delay=dt.timedelta(seconds=retry_after) if retry_after is not None else None,
    )


def decode_failure(failure: BaseException | None) -> UcpError | None:
    """The frozen error a Temporal failure carries, or ``None`` when it carries none (a timeout, a bug)."""
    if not isinstance(failure, ApplicationError) or failure.type is None:
        return None
    try:
        code = ErrorCode(failure.type)
    except ValueError:
        return None
    body = failure.details[0] if failure.details and isinstance(failure.details[0], dict) else {}
    detail = body.get("detail")
    retry_after = body.get("retry_after")
    return UcpError(
        failure.message,
        code=code,
        pointer=body.get("pointer") if isinstance(body.get("pointer"), str) else None,
        detail=detail if isinstance(detail, dict) else None,
        retry_after=retry_after if isinstance(retry_after, int) else None,
        continue_url=body.get("continue_url") if isinstance(body.get("continue_url"), str) else None,
    )


def profile_failure(error: UcpError) -> ApplicationError:
    """A profile that could not be read: retry while it is unreachable, not while it is malformed or untrusted."""
    return encode_failure(error, retryable=error.code is ErrorCode.PROFILE_UNREACHABLE)
