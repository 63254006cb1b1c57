"""Checkout messages (types/message*.json): errors, warnings and infos a merchant attaches to its answer.

An error's ``severity`` says what it asks of the platform; ``requires_*`` ones
are escalations to the buyer (checkout.md "Error Handling").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from contracts.ucp._base import OpenModel


class MessageType(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Severity(StrEnum):
    """What an error asks of the platform (checkout.md "Error Handling")."""

    RECOVERABLE = "recoverable"
    REQUIRES_BUYER_INPUT = "requires_buyer_input"
    REQUIRES_BUYER_REVIEW = "requires_buyer_review"
    UNRECOVERABLE = "unrecoverable"

    @property
    def requires_escalation(self) -> bool:
        return self in (Severity.REQUIRES_BUYER_INPUT, Severity.REQUIRES_BUYER_REVIEW)


class ContentType(StrEnum):
    PLAIN = "plain"
    MARKDOWN = "markdown"


class MessageError(OpenModel):
    type: Literal["error"]
    code: str
    content: str
    severity: Severity
    path: str | None = None
    content_type: ContentType | None = None


class MessageWarning(OpenModel):
    type: Literal["warning"]
    code: str
    content: str
    path: str | None = None
    content_type: ContentType | None = None
    presentation: str | None = None
    image_url: str | None = None
    url: str | None = None


class MessageInfo(OpenModel):
    type: Literal["info"]
    content: str
    code: str | None = None
    path: str | None = None
    content_type: ContentType | None = None


Message = Annotated[MessageError | MessageWarning | MessageInfo, Field(discriminator="type")]
