"""The RFC 9421 signature base written directly, for the plain components UCP signs (issue 13).

Why: ``http-message-signatures`` rebuilds every identifier and parameter through
the pure-Python ``http-sf`` serialiser (a per-character check of each string),
parses the component list again on every call and, when signing, builds the base
twice (``prepare`` and ``apply``). A sign + verify pair cost ~2.3 ms, of which
the ECDSA itself is ~0.3 ms (docs/perf/profile-after.md), and every operation
signs and verifies four messages on the connector's side alone.

What is direct here, and only here:

* component identifiers that are bare lowercase names: the derived ``@method``,
  ``@authority``, ``@path``, ``@query``, ``@status`` and field names (a token,
  so its Structured Field string is just the name in quotes);
* the ``@signature-params`` line with ``created``/``expires`` (integers) and
  ``keyid``/``alg``/``nonce``/``tag`` (strings of printable ASCII).

The component *values* still come from the library's own resolver (its strict
URL parsing, ``@authority`` default-port rule and field-line combining), and the
same control-character rules as the library's base builder apply. Anything else
(a parameterised component, another derived component, another parameter or
type) returns ``None`` and the caller takes the library's path, so the library
stays the reference: tests/contracts/test_signature_base.py checks this base
against the library's, byte for byte, and that each side verifies the other's
signatures.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from http_message_signatures import HTTPMessageSignaturesException
from http_message_signatures.resolvers import HTTPSignatureComponentResolver
from http_sf.compat import Item

DIRECT_DERIVED: Final = frozenset({"@method", "@authority", "@path", "@query", "@status"})
_FIELD_NAME: Final = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+\Z")
_SF_STRING: Final = re.compile(r"[\x20-\x7e]*\Z")
_INTEGER_PARAMS: Final = frozenset({"created", "expires"})
_STRING_PARAMS: Final = frozenset({"alg", "keyid", "nonce", "tag"})
_LATEST_TIME: Final = 253_402_300_799  # 9999-12-31T23:59:59Z: a later (or negative) time takes the library's path


def direct_components(components: Sequence[str]) -> bool:
    """Whether every component is one this module serialises itself (and none repeats)."""
    return len(set(components)) == len(components) and all(
        component in DIRECT_DERIVED or _FIELD_NAME.match(component) is not None for component in components
    )


def _sf_string(value: str) -> str | None:
    if _SF_STRING.match(value) is None:
        return None
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def signature_params(components: Sequence[str], params: Mapping[str, Any]) -> str | None:
    """The serialised inner list ``("@method" ...);created=...;keyid="..."``, or ``None`` if not direct."""
    if not direct_components(components):
        return None
    text = ["(" + " ".join(f'"{component}"' for component in components) + ")"]
    for name, value in params.items():
        if name in _INTEGER_PARAMS and type(value) is int and 0 <= value <= _LATEST_TIME:
            text.append(f";{name}={value}")
            continue
        serialised = _sf_string(value) if name in _STRING_PARAMS and isinstance(value, str) else None
        if serialised is None:
            return None
        text.append(f";{name}={serialised}")
    return "".join(text)


def _checked(component: str, value: object) -> str:
    """The library's rules for a component value in the base (signatures.py ``_build_signature_base``)."""
    if not isinstance(value, str):
        raise HTTPMessageSignaturesException(f'Component value for "{component}" must be a string')
    if "\r" in value or "\n" in value:
        raise HTTPMessageSignaturesException(f'Component value for "{component}" contains newline character')
    if component.startswith("@"):
        if value and (not value.isprintable() or value.startswith(" ") or value.endswith(" ")):
            raise HTTPMessageSignaturesException(f'Derived component "{component}" must be printable')
    elif value and not value.replace("\t", " ").isprintable():
        raise HTTPMessageSignaturesException(f'Field component "{component}" contains invalid control characters')
    return value


def build(message: Any, components: Sequence[str], params_line: str) -> bytes:
    """The signature base of ``message`` over ``components`` (all direct) and its ``@signature-params``.

    Raises ``HTTPMessageSignaturesException`` where the library would (a missing
    field, a malformed URL, a control character, non-ASCII).
    """
    resolver = HTTPSignatureComponentResolver(message)  # type: ignore[no-untyped-call]
    lines = [f'"{component}": {_checked(component, resolver.resolve(Item(component)))}' for component in components]
    lines.append(f'"@signature-params": {params_line}')
    base = "\n".join(lines)
    if not base.isascii():
        raise HTTPMessageSignaturesException("Signature base contains non-ASCII characters")
    return base.encode()


def signature_member(label: str, signature: bytes) -> str:
    """``label=:base64:`` (a Structured Field byte sequence)."""
    return f"{label}=:{base64.b64encode(signature).decode()}:"
