"""Every response the merchant sends: JSON bytes, signed (RFC 9421) when the release signs responses.

Bodies are RFC 8785 canonical JSON, so equal documents are equal bytes. The
signature covers ``@status``, ``content-digest`` and ``content-type``
(``contracts.sign_response``), with the merchant's active key; 2026-01-11
signs nothing, as the samples do (see :mod:`reference_merchant.releases`).
Error bodies are signed too where responses are: the spec makes that optional
(SIG-30), signing costs nothing, and a platform can then trust the error it
acts on. *What* an error body looks like is the release's business
(``Release.error_document``): 2026-04-08 separates protocol errors
(``{"code", "content", ...}``) from business outcomes answered ``200`` with
the UCP error envelope (types/error_response.json, TRN-08).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from contracts import ErrorCode, KeyStore, UcpError, canonical_json, sign_response
from contracts.ucp import NegotiatedCapability

if TYPE_CHECKING:
    from reference_merchant.releases.base import Release

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class BusinessOutcome(UcpError):  # noqa: N818 - an outcome, not an exceptional error
    """An error reported as a business outcome: HTTP 200 with the UCP error envelope, whatever the code's status.

    ``not_found`` is 404 in the connector's registry, but a merchant reports a
    session that does not exist (any more) as ``ucp.status: error`` with an
    ``unrecoverable`` message (checkout.md "Error Handling", order-rest.md).
    """

    def __init__(
        self,
        content: str,
        *,
        code: ErrorCode,
        severity: str = "unrecoverable",
        path: str | None = None,
        continue_url: str | None = None,
        capabilities: Sequence[NegotiatedCapability] | None = None,
    ) -> None:
        super().__init__(content, code=code, continue_url=continue_url)
        self.severity = severity
        self.path = path
        self.capabilities = capabilities


class Responder:
    def __init__(self, keys: Callable[[], KeyStore]) -> None:
        self._keys = keys

    def raw(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        sign: bool = True,
        media_type: str = JSON,
    ) -> Response:
        """A response for exact ``body`` bytes (idempotent replays reuse the stored bytes), signed if ``sign``."""
        base = [("Content-Type", media_type)]
        signed = sign_response(status=status, headers=base, body=body, key=self._keys().active) if sign else {}
        all_headers = {"Content-Type": media_type, **signed, **(headers or {})}
        return Response(content=body, status_code=status, headers=all_headers)

    def encode(self, document: Any) -> bytes:
        return canonical_json(document)

    def json(
        self, status: int, document: Any, headers: Mapping[str, str] | None = None, *, sign: bool = True
    ) -> Response:
        return self.raw(status, self.encode(document), headers, sign=sign)

    def error(self, release: Release, error: UcpError) -> Response:
        status, document = release.error_document(error)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        if isinstance(document, str):  # Starlette's plain-text 500 (2026-01-11)
            return self.raw(status, document.encode(), headers, sign=release.signs_responses, media_type=TEXT)
        return self.json(status, document, headers, sign=release.signs_responses)
