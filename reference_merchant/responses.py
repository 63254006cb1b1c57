"""Every response the merchant sends: JSON bytes, signed (RFC 9421, signatures.md "REST Response Signing").

Bodies are RFC 8785 canonical JSON, so equal documents are equal bytes; the
signature covers ``@status``, ``content-digest`` and ``content-type``
(``contracts.sign_response``), with the merchant's active key. Error bodies are
signed too: the spec makes that optional (SIG-30), signing costs nothing, and a
platform can then trust the error it acts on.

Two error shapes, as checkout-rest.md "Error Responses" separates them:

* protocol errors (4xx/5xx) carry ``{"code", "content", ...}`` — the
  :class:`~contracts.ErrorBody` of the frozen registry;
* business outcomes whose registry status is 200 (``not_found`` for a
  session, ``out_of_stock`` when nothing can be bought,
  ``capabilities_incompatible``) answer ``200`` with the UCP error envelope
  ``{"ucp": {..., "status": "error"}, "messages": [...], "continue_url"}``
  (types/error_response.json, TRN-08).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from contracts import ErrorCode, KeyStore, UcpError, canonical_json, sign_response

JSON = "application/json"


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
        capabilities: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(content, code=code, continue_url=continue_url)
        self.severity = severity
        self.path = path
        self.capabilities = capabilities


class Responder:
    def __init__(self, keys: Callable[[], KeyStore], protocol_version: str) -> None:
        self._keys = keys
        self._version = protocol_version

    def raw(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        """A signed response for exact ``body`` bytes (idempotent replays reuse the stored bytes)."""
        base = [("Content-Type", JSON)]
        signed = sign_response(status=status, headers=base, body=body, key=self._keys().active)
        all_headers = {"Content-Type": JSON, **signed, **(headers or {})}
        return Response(content=body, status_code=status, headers=all_headers)

    def encode(self, document: Any) -> bytes:
        return canonical_json(document)

    def json(self, status: int, document: Any, headers: Mapping[str, str] | None = None) -> Response:
        return self.raw(status, self.encode(document), headers)

    def error_document(self, error: UcpError) -> tuple[int, dict[str, Any]]:
        """The status and body for ``error`` (protocol error body, or a 200 error envelope)."""
        if isinstance(error, BusinessOutcome):
            return 200, self.error_envelope(
                error.code.value,
                error.content,
                severity=error.severity,
                path=error.path,
                continue_url=error.continue_url,
                capabilities=error.capabilities,
            )
        if error.http_status == 200:
            return 200, self.error_envelope(error.code.value, error.content, continue_url=error.continue_url)
        return error.http_status, error.to_json_dict()

    def error(self, error: UcpError) -> Response:
        status, document = self.error_document(error)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        return self.json(status, document, headers)

    def error_envelope(
        self,
        code: str,
        content: str,
        *,
        severity: str = "unrecoverable",
        path: str | None = None,
        continue_url: str | None = None,
        capabilities: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """types/error_response.json: no resource, ``ucp.status: error``, at least one message."""
        message: dict[str, Any] = {"type": "error", "code": code, "content": content, "severity": severity}
        if path is not None:
            message["path"] = path
        ucp: dict[str, Any] = {"version": self._version, "status": "error"}
        if capabilities is not None:
            ucp["capabilities"] = capabilities
        document: dict[str, Any] = {"ucp": ucp, "messages": [message]}
        if continue_url is not None:
            document["continue_url"] = continue_url
        return document
