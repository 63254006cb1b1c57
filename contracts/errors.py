"""Typed errors that always carry a frozen code, and the UCP-shaped error body.

Every parser and verifier in ``contracts`` raises a subclass of
:class:`UcpError`, never a bare ``ValueError``/``KeyError``, so a caller at an
HTTP boundary maps *any* failure to a status and a stable code with one
``except UcpError``. The body follows UCP's REST protocol-error shape
(``{"code", "content"}``, overview.md "Transport Bindings") and adds two
optional, machine-readable extensions the spec leaves room for: ``pointer``
(RFC 6901 JSON pointer to the offending input) and ``detail`` (flat facts such
as which covered component was missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.error_codes import ErrorCode

DetailValue = str | int | bool | None | list[str] | list[dict[str, str | None]]
"""Flat facts, or a list of them: a merchant's UCP ``messages[]`` travel as ``{code, content, severity, path}`` each."""


class ErrorBody(BaseModel):
    """The body of every non-2xx response the connector (and reference merchant) sends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="A frozen code from contracts/error_codes.json.")
    content: str = Field(description="Human-readable explanation; never contains secrets.")
    pointer: str | None = Field(
        default=None, description="RFC 6901 JSON pointer to the offending request field, when there is one."
    )
    detail: dict[str, DetailValue] | None = Field(
        default=None, description="Machine-readable facts about the failure (e.g. reason, missing components)."
    )
    continue_url: str | None = Field(default=None, description="Buyer handoff URL, when one exists.")


class UcpError(Exception):
    """An error with a frozen code, an HTTP status and a safe message."""

    default_code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        content: str,
        *,
        code: ErrorCode | None = None,
        pointer: str | None = None,
        detail: Mapping[str, DetailValue] | None = None,
        retry_after: int | None = None,
        continue_url: str | None = None,
    ) -> None:
        super().__init__(content)
        self.code: ErrorCode = code or self.default_code
        self.content = content
        self.pointer = pointer
        self.detail: dict[str, DetailValue] = dict(detail or {})
        self.retry_after = retry_after
        self.continue_url = continue_url

    @property
    def http_status(self) -> int:
        return self.code.http_status

    @property
    def reason(self) -> str | None:
        """The ``detail["reason"]`` sub-code, when the raiser set one."""
        value = self.detail.get("reason")
        return value if isinstance(value, str) else None

    def to_body(self) -> ErrorBody:
        return ErrorBody(
            code=self.code.value,
            content=self.content,
            pointer=self.pointer,
            detail=self.detail or None,
            continue_url=self.continue_url,
        )

    def to_json_dict(self) -> dict[str, Any]:
        return self.to_body().model_dump(exclude_none=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.value!r}, content={self.content!r}, detail={self.detail!r})"


class MalformedInputError(UcpError):
    """A low-level parser (base64url, JSON, structured field) refused its input.

    Callers that know the context re-raise it under their own code (a bad
    base64 inside a cursor is ``cursor_invalid``); left alone it is a 400.
    """

    default_code = ErrorCode.VALIDATION_FAILED

    def __init__(self, what: str, reason: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(f"malformed {what}: {reason}", code=code, detail={"input": what, "reason": reason})
        self.what = what


class SignatureError(UcpError):
    """RFC 9421 / RFC 9530 verification failed; ``code`` is one of the spec's signature codes."""

    default_code = ErrorCode.SIGNATURE_INVALID


class KeyFormatError(UcpError):
    """A JWK / JWK Set is not a usable public or private key."""

    default_code = ErrorCode.PROFILE_MALFORMED


class ProfileUrlError(UcpError):
    """A profile URL (``UCP-Agent`` or configuration) breaks the spec's URL rules."""

    default_code = ErrorCode.INVALID_PROFILE_URL


class CursorInvalidError(UcpError):
    """A list cursor is malformed, forged, foreign or expired."""

    default_code = ErrorCode.CURSOR_INVALID


class IdempotencyKeyError(UcpError):
    """An ``Idempotency-Key`` header is absent or not acceptable."""

    default_code = ErrorCode.IDEMPOTENCY_KEY_INVALID
