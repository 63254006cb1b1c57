"""Signature fields and messages for contracts/http_signatures.py: parsing, limits, what must be covered.

Split out of http_signatures.py (which stays the public entry point) so each
stays under 400 lines: the field lines a signature is computed over (repeated
names preserved, wire order), UCP's coverage rules (SIG-16..19, SIG-21) and the
strict parsing of ``Signature-Input``/``Signature`` (one label, bounded sizes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import http_sf
from http_message_signatures import HTTPMessageSignaturesException, HTTPMessageSigner, algorithms

from contracts.error_codes import ErrorCode
from contracts.errors import DetailValue, MalformedInputError, SignatureError

SIGNATURE_LABEL: Final = "sig1"
MUTATING_METHODS: Final = frozenset({"POST", "PUT", "DELETE", "PATCH"})
MAX_SIGNATURE_HEADER_LENGTH: Final = 4096
MAX_COVERED_COMPONENTS: Final = 24

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class HeaderLines:
    """Field lines in wire order, as the signing library expects (repeated names preserved)."""

    def __init__(self, headers: Headers) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        self._lines: list[tuple[str, str]] = [(str(name), str(value)) for name, value in pairs]

    def items(self) -> list[tuple[str, str]]:
        return list(self._lines)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(field.lower() == name.lower() for field, _ in self._lines)

    def __setitem__(self, name: str, value: str) -> None:
        del self[name]
        self._lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        self._lines = [(field, value) for field, value in self._lines if field.lower() != name.lower()]

    def get(self, name: str) -> str | None:
        values = [value.strip(" \t") for field, value in self._lines if field.lower() == name.lower()]
        return ", ".join(values) if values else None


@dataclass
class RequestMessage:
    method: str
    url: str
    headers: HeaderLines


@dataclass
class ResponseMessage:
    status_code: int
    headers: HeaderLines
    request: RequestMessage | None = None


def has_body(body: bytes | None) -> bool:
    return bool(body)


def _url_has_query(url: str) -> bool:
    return "?" in url.split("#", 1)[0]


def request_components(method: str, url: str, lines: HeaderLines, body: bytes | None) -> tuple[str, ...]:
    """The components UCP requires a request signature to cover, in the spec's order."""
    components = ["@method", "@authority", "@path"]
    if _url_has_query(url):
        components.append("@query")
    if "ucp-agent" in lines:
        components.append("ucp-agent")
    if method.upper() in MUTATING_METHODS and "idempotency-key" in lines:
        components.append("idempotency-key")
    if has_body(body):
        components.extend(["content-digest", "content-type"])
    return tuple(components)


def response_components(body: bytes | None) -> tuple[str, ...]:
    """The components UCP requires a response signature to cover."""
    return ("@status", "content-digest", "content-type") if has_body(body) else ("@status",)


def fail(code: ErrorCode, reason: str, content: str, **detail: DetailValue) -> SignatureError:
    return SignatureError(content, code=code, detail={"reason": reason, **detail})


@dataclass(frozen=True)
class ParsedSignature:
    label: str
    components: tuple[str, ...]
    params: dict[str, Any]
    signature: bytes


def parse_signature_input(value: str) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """Parse a single-member ``Signature-Input`` into (label, covered components, parameters)."""
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise fail(ErrorCode.SIGNATURE_INVALID, "header_too_large", "Signature-Input is too large")
    try:
        inputs: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise fail(
            ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature-Input is not an RFC 8941 dictionary"
        ) from exc
    if not isinstance(inputs, dict) or not inputs:
        raise fail(ErrorCode.SIGNATURE_MISSING, "header_missing", "Signature-Input is empty")
    if len(inputs) != 1:
        raise fail(ErrorCode.SIGNATURE_INVALID, "signature_count", "exactly one signature is required")
    label, (members, params) = next(iter(inputs.items()))
    if not isinstance(members, list):
        raise fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature-Input member must be an inner list")
    if len(members) > MAX_COVERED_COMPONENTS:
        raise fail(ErrorCode.SIGNATURE_INVALID, "too_many_components", "too many covered components")
    components: list[str] = []
    for name, component_params in members:
        if not isinstance(name, str):
            raise fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "covered components must be strings")
        # A parameterised component (e.g. "ucp-agent";key="profile") is a different
        # component from the bare field UCP requires; keep it distinguishable.
        components.append(name if not component_params else http_sf.ser([(name, component_params)]))
    return str(label), tuple(components), dict(params)


def parse_signature_fields(lines: HeaderLines) -> ParsedSignature:
    sig_input = lines.get("signature-input")
    signature = lines.get("signature")
    if sig_input is None or signature is None:
        missing = [name for name, value in (("Signature-Input", sig_input), ("Signature", signature)) if value is None]
        raise fail(ErrorCode.SIGNATURE_MISSING, "header_missing", "the message is not signed", missing_headers=missing)
    label, components, params = parse_signature_input(sig_input)
    if len(signature) > MAX_SIGNATURE_HEADER_LENGTH:
        raise fail(ErrorCode.SIGNATURE_INVALID, "header_too_large", "Signature is too large")
    try:
        values: Any = http_sf.parse(signature.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature is not an RFC 8941 dictionary") from exc
    if not isinstance(values, dict) or set(values) != {label}:
        raise fail(
            ErrorCode.SIGNATURE_INVALID,
            "signature_count",
            "Signature must carry exactly the label named in Signature-Input",
        )
    raw_signature = values[label][0]
    if not isinstance(raw_signature, bytes):
        raise fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature member must be a byte sequence")
    return ParsedSignature(label, components, params, raw_signature)


def text_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI header bytes as the text pairs these functions take (latin-1 keeps every octet as sent)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def signature_base(
    *,
    method: str | None = None,
    url: str | None = None,
    status: int | None = None,
    headers: Headers,
    signature_input: str,
) -> bytes:
    """The exact RFC 9421 signature base for a message and its ``Signature-Input``.

    For test vectors and for operators debugging a peer's signature; it runs the
    library's own code path (the reference ``contracts/signature_base.py`` is
    checked against). ``created`` must be present (we always
    emit it), since the library always writes one.
    """
    lines = HeaderLines(headers)
    message: RequestMessage | ResponseMessage
    if status is not None:
        message = ResponseMessage(status, lines)
    elif method is not None and url is not None:
        message = RequestMessage(method, url, lines)
    else:
        raise MalformedInputError("message", "give either status, or method and url")
    label, components, params = parse_signature_input(signature_input)
    created, kid = params.get("created"), params.get("keyid")
    if not isinstance(created, int) or not isinstance(kid, str):
        raise MalformedInputError("Signature-Input", "created and keyid are required to rebuild the base")
    try:
        prepared = HTTPMessageSigner(signature_algorithm=algorithms.ECDSA_P256_SHA256).prepare(
            message,
            key_id=kid,
            created=dt.datetime.fromtimestamp(created, dt.UTC),
            label=label,
            include_alg="alg" in params,
            covered_component_ids=components,
            use_existing_digest="content-digest" in lines,
        )
    except HTTPMessageSignaturesException as exc:
        raise MalformedInputError("message", f"no signature base: {exc}") from exc
    return bytes(prepared.signature_base)
