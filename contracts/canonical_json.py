"""Canonical JSON (RFC 8785, JCS) and a strict JSON reader.

Canonical bytes are what we hash (audit chain, request-body digests used for
idempotency) and what we MAC (cursors), so two equal documents must give the
same bytes whatever their key order or escaping. We use Trail of Bits'
``rfc8785`` package rather than ``json.dumps(sort_keys=True)``: JCS sorts keys
by UTF-16 code units and formats numbers the ECMAScript way, which the stdlib
does not (``../shared/notes/rfc9421-libraries.md`` §3).

JCS only represents integers within ±(2^53-1) exactly, and UCP amounts are
integer minor units, so larger integers, NaN and infinities are refused
rather than silently rounded.

The reader refuses what the stdlib accepts but a hostile peer could use for
parser-differential tricks: duplicate object keys, ``NaN``/``Infinity``
literals, non-UTF-8 bytes and absurd nesting.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from contracts.error_codes import ErrorCode
from contracts.errors import MalformedInputError

JsonValue = Any  # a parsed JSON document: dict / list / str / int / float / bool / None

MAX_NESTING_DEPTH = 64


def canonical_json(value: JsonValue) -> bytes:
    """RFC 8785 bytes of ``value`` (dicts, lists, str, int, float, bool, None only)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedInputError("json", f"not canonicalizable: {type(exc).__name__}") from exc


def canonical_sha256(value: JsonValue) -> str:
    """Lowercase hex sha-256 of the canonical bytes; the identity of a JSON document."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise MalformedInputError("json", f"duplicate object key {key[:40]!r}")
        result[key] = item
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedInputError("json", f"non-standard literal {name}")


def _depth(value: JsonValue) -> int:
    deepest = 0
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_json(raw: bytes | str) -> JsonValue:
    """Parse one JSON document strictly; raise ``MalformedInputError`` (code ``malformed_json``)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except MalformedInputError as exc:
        raise MalformedInputError("json", exc.reason or "invalid", code=ErrorCode.MALFORMED_JSON) from exc
    except UnicodeDecodeError as exc:
        raise MalformedInputError("json", "not UTF-8", code=ErrorCode.MALFORMED_JSON) from exc
    except RecursionError as exc:
        raise MalformedInputError("json", "nested too deeply", code=ErrorCode.MALFORMED_JSON) from exc
    except ValueError as exc:
        position = getattr(exc, "pos", "?")
        raise MalformedInputError("json", f"syntax error at {position}", code=ErrorCode.MALFORMED_JSON) from exc
    if _depth(value) > MAX_NESTING_DEPTH:
        raise MalformedInputError("json", "nested too deeply", code=ErrorCode.MALFORMED_JSON)
    return value
