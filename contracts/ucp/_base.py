"""Shared building blocks of the UCP wire models: open vs strict objects, bounded scalars, error mapping.

Two kinds of model, on purpose (DESIGN.md invariant 8):

* :class:`OpenModel` — what a *counterparty sends us* (merchant responses,
  profiles, webhooks). UCP objects are open for extension (overview.md
  "Backwards-Compatible Changes", OVR-51), so unknown members are kept in
  ``model_extra`` and survive a dump/parse round trip.
* :class:`StrictModel` — request bodies we build or accept. They follow
  ``ucp-schema --strict`` semantics: every member the operation's resolved
  schema does not define is refused, except in the few objects the schema
  leaves open for handler- or extension-defined members (buyer, context,
  signals, attribution, payment instruments and credentials).

Every parse failure is re-raised as :class:`~contracts.errors.UcpError` with a
frozen code and an RFC 6901 pointer to the first offending member, so an HTTP
boundary can answer it with one ``except UcpError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError

VERSION_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}$"
REVERSE_DOMAIN_PATTERN: Final = r"^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_]*)+$"
REVERSE_DOMAIN_RE: Final = re.compile(REVERSE_DOMAIN_PATTERN)

# Size limits for request bodies we accept (invariant 8); generous for real traffic, small enough to bound work.
MAX_ID_LENGTH: Final = 256
MAX_TEXT_LENGTH: Final = 2048
MAX_LINE_ITEMS: Final = 100
MAX_LIST_ITEMS: Final = 50
MAX_QUANTITY: Final = 10_000

Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
"""A UCP date version, ``YYYY-MM-DD`` (ucp.json ``$defs/version``); dates compare as strings."""

ReverseDomainName = Annotated[str, StringConstraints(pattern=REVERSE_DOMAIN_PATTERN)]
"""``{reverse-domain}.{service}.{capability}`` style names (types/reverse_domain_name.json)."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]


class OpenModel(BaseModel):
    """A UCP object sent by a counterparty: unknown members are kept (OVR-51)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class StrictModel(BaseModel):
    """A UCP request object: unknown members are refused (``ucp-schema --strict``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def json_pointer(location: tuple[int | str, ...]) -> str:
    """RFC 6901 pointer for a sequence of member names and array indexes."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "/" + "/".join(parts) if parts else ""


def document_location(document: object, location: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Map a pydantic error location onto the document, dropping union tags and validator labels.

    pydantic inserts the chosen branch of a union (``shipping``, ``function-after[...]``)
    into error locations; a pointer must only name members that exist in the
    input, plus at most one final member (the missing or unknown one).
    """
    path: list[int | str] = []
    node = document
    for index, part in enumerate(location):
        in_object = isinstance(node, Mapping) and isinstance(part, str) and part in node
        in_array = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_object or in_array:
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif index == len(location) - 1 and isinstance(node, Mapping) and isinstance(part, str):
            path.append(part)  # the member that is missing or not allowed
    return tuple(path)


Model = TypeVar("Model", bound=BaseModel)


def parse_model(
    model: type[Model],
    document: object,
    *,
    code: ErrorCode = ErrorCode.VALIDATION_FAILED,
    what: str | None = None,
) -> Model:
    """Validate ``document`` as ``model``; raise :class:`UcpError` (``code``) naming the first bad member.

    The content never echoes input values (they may be payment data); the
    pointer and pydantic's error type say what is wrong.
    """
    if not isinstance(document, Mapping):
        raise UcpError(f"{what or model.__name__} must be a JSON object", code=code, pointer="")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        pointer = json_pointer(document_location(document, tuple(first["loc"])))
        reason = str(first["type"])
        message = first["msg"] if reason != "extra_forbidden" else "unknown member"
        raise UcpError(
            f"{what or model.__name__}: {message} at {pointer or '/'}",
            code=code,
            pointer=pointer,
            detail={"reason": reason, "errors": str(exc.error_count())},
        ) from None


def dump(model: BaseModel) -> dict[str, Any]:
    """The wire form of a model: aliases, extension members kept, nothing the sender did not set.

    Defaults are left out (``ucp.status`` defaults to ``success`` in the schema
    too), so a parsed document dumps back to what was received.
    """
    return model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
