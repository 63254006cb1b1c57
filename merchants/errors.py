"""The typed failure of a merchant call: a frozen code, whether trying again can help, and when.

Raised by :class:`merchants.client.MerchantClient` for everything that is not
a verified UCP answer (transport, status, signature, body). The activity that
drives the call turns it into Temporal's failure with
``activities.errors.encode_failure(error, retryable=..., retry_after=error.retry_delay)``;
nothing here knows about Temporal.

``retry_delay`` is the merchant's ``Retry-After`` in seconds, for the next
attempt of *our* call (TRN-10). It is deliberately not
:attr:`~contracts.UcpError.retry_after`, which is what a platform is told.
"""

from __future__ import annotations

from contracts import ErrorCode, UcpError
from contracts.errors import DetailValue


class MerchantCallError(UcpError):
    """A merchant call that produced no verified UCP answer."""

    def __init__(
        self,
        content: str,
        *,
        code: ErrorCode,
        retryable: bool,
        retry_delay: float | None = None,
        **detail: DetailValue,
    ) -> None:
        super().__init__(content, code=code, detail=detail)
        self.retryable = retryable
        self.retry_delay = retry_delay
