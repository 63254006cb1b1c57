"""Failures small enough for the Temporal UI: stack traces and cause chains trimmed before they leave a process.

The server keeps a pending activity's last failure in the workflow's mutable
state and replaces one larger than its limit (4 KB by default,
``limit.mutableStateActivityFailureSizeLimitError``) with "Failure exceeds size
limit" — which is what an operator saw for a merchant call that failed inside
httpx (a 40-frame stack trace, a chain of causes). :class:`SmallFailureConverter`
keeps what helps: the message, the type and details (the frozen code and error
body ``activities/errors.py`` encodes: never trimmed), the *last* lines of the
stack trace (where it was raised) and the first causes. Payloads are untouched
and still pass through the encrypting codec.
"""

from __future__ import annotations

from typing import Final

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter

MAX_MESSAGE: Final = 500
MAX_STACK_TRACE: Final = 800  # characters, the tail: the frames nearest to the raise
MAX_CAUSES: Final = 2


class SmallFailureConverter(DefaultFailureConverter):
    """The SDK's converter, then :func:`trim` on what it produced."""

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        super().to_failure(exception, payload_converter, failure)
        trim(failure)


def trim(failure: Failure, depth: int = 0) -> None:
    """Shorten ``failure`` in place: message, stack trace tail, at most :data:`MAX_CAUSES` causes."""
    if len(failure.message) > MAX_MESSAGE:
        failure.message = failure.message[: MAX_MESSAGE - 1] + "…"
    if len(failure.stack_trace) > MAX_STACK_TRACE:
        failure.stack_trace = "…" + failure.stack_trace[-(MAX_STACK_TRACE - 1) :]
    if failure.HasField("cause"):
        if depth >= MAX_CAUSES:
            failure.ClearField("cause")
        else:
            trim(failure.cause, depth + 1)
