"""Activity failures stay below the Temporal server's size limit, so the UI shows them (issue 16.3, 16.6).

The server replaces a pending activity's last failure above 4 KB with "Failure exceeds size limit";
a merchant call failing deep inside an HTTP client with a chain of causes went past it. The frozen
code and error body (DESIGN invariant 10, ``activities/errors.py``) survive the trimming.
"""

from __future__ import annotations

import asyncio

from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from activities.errors import decode_failure, encode_failure
from contracts import ErrorCode, UcpError
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from core.temporal.failures import MAX_STACK_TRACE

SERVER_LIMIT = 4 * 1024  # limit.mutableStateActivityFailureSizeLimitError's default


def _deep(depth: int) -> None:
    """Alternating frames (Python collapses only identical consecutive ones), as in a real client stack."""
    if depth:
        _deeper(depth - 1)
    raise OSError("connection reset by peer " * 200)


def _deeper(depth: int) -> None:
    _deep(depth)


def _failure() -> BaseException:
    """A frozen merchant error caused by a deep, chained low-level failure, as raised in an activity."""
    try:
        try:
            try:
                _deep(60)
            except OSError as low:
                raise RuntimeError("transport failed " * 30) from low
        except RuntimeError as mid:
            raise encode_failure(
                UcpError("the merchant is unavailable", code=ErrorCode.MERCHANT_UNAVAILABLE), retryable=True
            ) from mid
    except ApplicationError as error:
        return error
    raise AssertionError("unreachable")


def test_a_deep_chained_activity_failure_fits_the_servers_limit_and_keeps_its_code() -> None:
    """Issue 16.6, invariant 10: the encoded failure is below 4 KB; its code and body decode unchanged."""
    converter = data_converter(PayloadKeyring.generate())
    failure = Failure()
    asyncio.run(converter.encode_failure(_failure(), failure))
    assert failure.ByteSize() < SERVER_LIMIT, failure.ByteSize()
    assert all(len(f.stack_trace) <= MAX_STACK_TRACE for f in (failure, failure.cause, failure.cause.cause))
    assert "_deep" in failure.cause.cause.stack_trace  # the frames nearest to the raise are kept
    decoded = asyncio.run(converter.decode_failure(failure))
    error = decode_failure(decoded)
    assert error is not None and error.code is ErrorCode.MERCHANT_UNAVAILABLE
    assert error.content == "the merchant is unavailable"
