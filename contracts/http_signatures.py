"""RFC 9421 HTTP Message Signatures as UCP uses them (signatures.md "REST Binding").

What we chose and why
---------------------
* ``http-message-signatures`` 3.x (pyauth, Apache-2.0) builds and checks the
  signature base: it implements the RFC's component serialisation, strict URL
  parsing, ``@query`` = ``?`` rules, default-port stripping in ``@authority``
  and raw ``r||s`` ECDSA encoding, and passes RFC 9421 Appendix B.2.4.
  Writing our own base builder would be a second, less-tested implementation
  of a security boundary. It parses structured fields with ``http-sf``.
* The library leaves *policy* to the caller (``../shared/notes/rfc9421-libraries.md``):
  which components must be covered, whether ``created`` is needed, how keys are
  found, and which error a failure is. That policy is UCP's and lives here:

  - requests cover ``@method @authority @path``; ``@query`` when the URL has a
    query; ``ucp-agent`` when that header is present; ``idempotency-key`` on
    POST/PUT/DELETE/PATCH when present (its *absence* is the idempotency
    layer's 400, not a signature error); ``content-digest`` and
    ``content-type`` when there is a body (SIG-16..19);
  - responses cover ``@status`` plus ``content-digest``/``content-type`` with a
    body (SIG-21);
  - ``alg`` is never emitted; the algorithm comes from the key's ``crv``
    (SIG-05). An ``alg`` a peer sends must agree with the key;
  - ``created`` is optional (SIG-22); when present it may not lie in the
    future beyond the allowed skew, and ``max_age`` applies only if the
    verifier's policy sets one. Replay protection is the idempotency layer's;
  - ECDSA signatures must be fixed-width ``r||s``; a DER signature is refused
    with ``reason=signature_encoding`` (SIG-20);
  - exactly one signature per message (label ``sig1`` when we sign); several
    labels are refused rather than guessing which one the sender meant;
  - the body digest is checked over the raw bytes *before* the signature, so a
    body edit is reported as ``digest_mismatch`` (SIG-24), and the library is
    always given ``body=`` so it cannot pass a tampered body either.
* Every failure is a :class:`~contracts.errors.SignatureError` whose ``code``
  is one of the spec's (``signature_missing``, ``signature_invalid``,
  ``key_not_found``, ``digest_mismatch``, ``algorithm_unsupported``) and whose
  ``detail`` says why (``reason``, ``missing_components``, ``kid``...).

URLs are *encoded absolute* URLs exactly as sent (``https://host/path?query``);
a server must rebuild the URL the client targeted from its own configured
authority and the raw, still-encoded request path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import http_sf
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from contracts.authority import authority_hint
from contracts.content_digest import content_digest, verify_content_digest
from contracts.error_codes import ErrorCode
from contracts.errors import DetailValue, MalformedInputError, SignatureError
from contracts.jwk import PublicJwk, SignatureAlgorithm, SigningKey

SIGNATURE_LABEL: Final = "sig1"
MUTATING_METHODS: Final = frozenset({"POST", "PUT", "DELETE", "PATCH"})
MAX_SIGNATURE_HEADER_LENGTH: Final = 4096
MAX_COVERED_COMPONENTS: Final = 24

_HMS_ALGORITHMS: Final[dict[SignatureAlgorithm, type[algorithms.HTTPSignatureAlgorithm]]] = {
    SignatureAlgorithm.ES256: algorithms.ECDSA_P256_SHA256,
    SignatureAlgorithm.ES384: algorithms.ECDSA_P384_SHA384,
    SignatureAlgorithm.EDDSA: algorithms.ED25519,
}
_RAW_SIGNATURE_LENGTH: Final[dict[SignatureAlgorithm, int]] = {
    SignatureAlgorithm.ES256: 64,
    SignatureAlgorithm.ES384: 96,
    SignatureAlgorithm.EDDSA: 64,
}

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class VerificationKeys(Protocol):
    """Where a verifier looks up the signer's key by ``keyid`` (a JwkSet, a KeyStore, a profile cache)."""

    def find(self, kid: str) -> PublicJwk | None: ...


@dataclass(frozen=True)
class VerificationPolicy:
    """Time rules for ``created``/``expires``; both parameters are optional in UCP (SIG-22)."""

    max_age: dt.timedelta | None = None
    max_clock_skew: dt.timedelta = dt.timedelta(seconds=60)
    now: dt.datetime | None = None  # fixed clock for tests and vectors

    def current_time(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class VerifiedSignature:
    """What a successful verification proves: who signed (key) and what they covered."""

    key: PublicJwk
    label: str
    covered_components: tuple[str, ...]
    created: int | None


# ---------------------------------------------------------------------------
# headers and messages


class _HeaderLines:
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
class _RequestMessage:
    method: str
    url: str
    headers: _HeaderLines


@dataclass
class _ResponseMessage:
    status_code: int
    headers: _HeaderLines
    request: _RequestMessage | None = None


def _has_body(body: bytes | None) -> bool:
    return bool(body)


def _url_has_query(url: str) -> bool:
    return "?" in url.split("#", 1)[0]


def _request_components(method: str, url: str, lines: _HeaderLines, body: bytes | None) -> tuple[str, ...]:
    """The components UCP requires a request signature to cover, in the spec's order."""
    components = ["@method", "@authority", "@path"]
    if _url_has_query(url):
        components.append("@query")
    if "ucp-agent" in lines:
        components.append("ucp-agent")
    if method.upper() in MUTATING_METHODS and "idempotency-key" in lines:
        components.append("idempotency-key")
    if _has_body(body):
        components.extend(["content-digest", "content-type"])
    return tuple(components)


def response_components(body: bytes | None) -> tuple[str, ...]:
    """The components UCP requires a response signature to cover."""
    return ("@status", "content-digest", "content-type") if _has_body(body) else ("@status",)


# ---------------------------------------------------------------------------
# signing


class _SingleKeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, kid: str, *, private: Any = None, public: Any = None) -> None:
        self._kid, self._private, self._public = kid, private, public

    def resolve_private_key(self, key_id: str) -> Any:
        if key_id != self._kid:  # pragma: no cover - we only ask for our own kid
            raise KeyError(key_id)
        return self._private

    def resolve_public_key(self, key_id: str) -> Any:
        return self._public if key_id == self._kid else None


def _signer(key: SigningKey) -> HTTPMessageSigner:
    return HTTPMessageSigner(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key_resolver=_SingleKeyResolver(key.kid, private=key.private_key),
    )


def _sign(
    message: _RequestMessage | _ResponseMessage,
    components: tuple[str, ...],
    body: bytes | None,
    key: SigningKey,
    created: dt.datetime | None,
) -> dict[str, str]:
    if _has_body(body):
        assert body is not None
        expected = content_digest(body)
        present = message.headers.get("content-digest")
        if present is not None and present != expected:
            raise MalformedInputError("Content-Digest", "given header does not match the body")
        message.headers["Content-Digest"] = expected
        if "content-type" not in message.headers:
            raise MalformedInputError("headers", "a body needs a Content-Type to be signed")
    try:
        _signer(key).sign(
            message,
            key_id=key.kid,
            created=created or dt.datetime.now(dt.UTC),
            label=SIGNATURE_LABEL,
            include_alg=False,
            covered_component_ids=components,
            use_existing_digest=_has_body(body),
        )
    except HTTPMessageSignaturesException as exc:
        raise MalformedInputError("message", f"cannot be signed: {exc}") from exc
    added = {"Signature-Input": message.headers.get("signature-input"), "Signature": message.headers.get("signature")}
    if _has_body(body):
        added["Content-Digest"] = message.headers.get("content-digest")
    return {name: value for name, value in added.items() if value is not None}


def sign_request(
    *,
    method: str,
    url: str,
    headers: Headers,
    body: bytes | None,
    key: SigningKey,
    created: dt.datetime | None = None,
) -> dict[str, str]:
    """Sign a request; return the headers to add (``Content-Digest`` with a body, ``Signature-Input``, ``Signature``).

    ``headers`` must already hold ``Content-Type`` (with a body), ``UCP-Agent`` and
    ``Idempotency-Key`` as they will be sent: whatever is present is covered.
    """
    lines = _HeaderLines(headers)
    message = _RequestMessage(method.upper(), url, lines)
    return _sign(message, _request_components(method, url, lines, body), body, key, created)


def sign_response(
    *,
    status: int,
    headers: Headers,
    body: bytes | None,
    key: SigningKey,
    created: dt.datetime | None = None,
) -> dict[str, str]:
    """Sign a response (``@status`` + digest/type with a body); return the headers to add."""
    message = _ResponseMessage(status, _HeaderLines(headers))
    return _sign(message, response_components(body), body, key, created)


# ---------------------------------------------------------------------------
# verification


def _fail(code: ErrorCode, reason: str, content: str, **detail: DetailValue) -> SignatureError:
    return SignatureError(content, code=code, detail={"reason": reason, **detail})


@dataclass(frozen=True)
class _ParsedSignature:
    label: str
    components: tuple[str, ...]
    params: dict[str, Any]
    signature: bytes


def _parse_signature_input(value: str) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """Parse a single-member ``Signature-Input`` into (label, covered components, parameters)."""
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "header_too_large", "Signature-Input is too large")
    try:
        inputs: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature-Input is not an RFC 8941 dictionary"
        ) from exc
    if not isinstance(inputs, dict) or not inputs:
        raise _fail(ErrorCode.SIGNATURE_MISSING, "header_missing", "Signature-Input is empty")
    if len(inputs) != 1:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "signature_count", "exactly one signature is required")
    label, (members, params) = next(iter(inputs.items()))
    if not isinstance(members, list):
        raise _fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature-Input member must be an inner list")
    if len(members) > MAX_COVERED_COMPONENTS:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "too_many_components", "too many covered components")
    components: list[str] = []
    for name, component_params in members:
        if not isinstance(name, str):
            raise _fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "covered components must be strings")
        # A parameterised component (e.g. "ucp-agent";key="profile") is a different
        # component from the bare field UCP requires; keep it distinguishable.
        components.append(name if not component_params else http_sf.ser([(name, component_params)]))
    return str(label), tuple(components), dict(params)


def _parse_signature_fields(lines: _HeaderLines) -> _ParsedSignature:
    sig_input = lines.get("signature-input")
    signature = lines.get("signature")
    if sig_input is None or signature is None:
        missing = [name for name, value in (("Signature-Input", sig_input), ("Signature", signature)) if value is None]
        raise _fail(ErrorCode.SIGNATURE_MISSING, "header_missing", "the message is not signed", missing_headers=missing)
    label, components, params = _parse_signature_input(sig_input)
    if len(signature) > MAX_SIGNATURE_HEADER_LENGTH:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "header_too_large", "Signature is too large")
    try:
        values: Any = http_sf.parse(signature.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature is not an RFC 8941 dictionary") from exc
    if not isinstance(values, dict) or set(values) != {label}:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID,
            "signature_count",
            "Signature must carry exactly the label named in Signature-Input",
        )
    raw_signature = values[label][0]
    if not isinstance(raw_signature, bytes):
        raise _fail(ErrorCode.SIGNATURE_INVALID, "malformed_header", "Signature member must be a byte sequence")
    return _ParsedSignature(label, components, params, raw_signature)


def _check_times(params: Mapping[str, Any], policy: VerificationPolicy) -> int | None:
    now = policy.current_time().timestamp()
    skew = policy.max_clock_skew.total_seconds()
    created = params.get("created")
    expires = params.get("expires")
    for name, value in (("created", created), ("expires", expires)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _fail(ErrorCode.SIGNATURE_INVALID, "malformed_parameter", f"{name} must be an integer")
    if isinstance(created, int) and created > now + skew:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "created_in_future", "signature created in the future")
    if isinstance(expires, int) and expires < now - skew:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "expired", "signature has expired")
    if policy.max_age is not None:
        if not isinstance(created, int):
            raise _fail(ErrorCode.SIGNATURE_INVALID, "created_missing", "signature must carry created")
        if created + policy.max_age.total_seconds() < now - skew:
            raise _fail(ErrorCode.SIGNATURE_INVALID, "expired", "signature is older than the allowed age")
    return created if isinstance(created, int) else None


def _verify(
    message: _RequestMessage | _ResponseMessage,
    required: tuple[str, ...],
    body: bytes | None,
    keys: VerificationKeys,
    policy: VerificationPolicy,
) -> VerifiedSignature:
    parsed = _parse_signature_fields(message.headers)
    missing = [component for component in required if component not in parsed.components]
    if missing:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID,
            "coverage_incomplete",
            f"the signature does not cover required components: {', '.join(missing)}",
            missing_components=missing,
        )
    kid = parsed.params.get("keyid")
    if not isinstance(kid, str) or not kid:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "keyid_missing", "Signature-Input has no keyid")
    key = keys.find(kid)
    if key is None:
        raise _fail(ErrorCode.KEY_NOT_FOUND, "unknown_kid", f"no signing key with kid={kid[:128]}", kid=kid[:128])
    algorithm = key.algorithm
    if algorithm is None:
        raise _fail(
            ErrorCode.ALGORITHM_UNSUPPORTED, "key_type", f"key {kid} has unsupported type {key.kty}/{key.crv}", kid=kid
        )
    hms_algorithm = _HMS_ALGORITHMS[algorithm]
    declared_alg = parsed.params.get("alg")
    if declared_alg is not None and declared_alg != hms_algorithm.algorithm_id:
        raise _fail(
            ErrorCode.ALGORITHM_UNSUPPORTED,
            "alg_mismatch",
            "the alg parameter does not match the signer's key",
            alg=str(declared_alg)[:64],
        )
    if _has_body(body) or "content-digest" in parsed.components:
        verify_content_digest(message.headers.get("content-digest"), body or b"")
    created = _check_times(parsed.params, policy)
    if len(parsed.signature) != _RAW_SIGNATURE_LENGTH[algorithm]:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID,
            "signature_encoding",
            f"{algorithm.value} signatures are {_RAW_SIGNATURE_LENGTH[algorithm]} raw bytes (r||s), not DER",
        )
    verifier = HTTPMessageVerifier(
        signature_algorithm=hms_algorithm, key_resolver=_SingleKeyResolver(kid, public=key.public_key)
    )
    verifier.require_created = False
    verifier.max_clock_skew = policy.max_clock_skew
    try:
        verifier.verify(message, max_age=None, body=body or b"", require_components=required)
    except HTTPMessageSignaturesException as exc:
        raise _verification_failed(message, parsed, kid) from exc
    return VerifiedSignature(key=key, label=parsed.label, covered_components=parsed.components, created=created)


def _verification_failed(
    message: _RequestMessage | _ResponseMessage, parsed: _ParsedSignature, kid: str
) -> SignatureError:
    """A failed signature; over ``@authority``, it names the authority expected (``contracts.authority``)."""
    if not isinstance(message, _RequestMessage) or "@authority" not in parsed.components:
        return _fail(ErrorCode.SIGNATURE_INVALID, "verification_failed", "signature verification failed", kid=kid)
    hint = authority_hint(message.url, message.headers.get("host"))
    return _fail(ErrorCode.SIGNATURE_INVALID, "verification_failed", hint.content, kid=kid, **hint.detail)


def screen_request_signature(headers: Headers, keys: VerificationKeys) -> PublicJwk:
    """The checks ``verify_request`` makes that need no body: signed at all, well-formed, by a known key.

    A server runs it before reading the body, so a request that cannot be
    authenticated costs no body read (issue 12.1); ``verify_request`` repeats
    these checks and does the rest. Returns the key the signature names (not
    yet verified: a claim, to be checked against the release's algorithms).
    """
    parsed = _parse_signature_fields(_HeaderLines(headers))
    kid = parsed.params.get("keyid")
    if not isinstance(kid, str) or not kid:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "keyid_missing", "Signature-Input has no keyid")
    key = keys.find(kid)
    if key is None:
        raise _fail(ErrorCode.KEY_NOT_FOUND, "unknown_kid", f"no signing key with kid={kid[:128]}", kid=kid[:128])
    return key


def verify_request(
    *,
    method: str,
    url: str,
    headers: Headers,
    body: bytes | None,
    keys: VerificationKeys,
    policy: VerificationPolicy | None = None,
) -> VerifiedSignature:
    """Verify a UCP request signature; raise :class:`SignatureError` with the spec's code on failure."""
    lines = _HeaderLines(headers)
    message = _RequestMessage(method, url, lines)
    required = _request_components(method, url, lines, body)
    return _verify(message, required, body, keys, policy or VerificationPolicy())


def verify_response(
    *,
    status: int,
    headers: Headers,
    body: bytes | None,
    keys: VerificationKeys,
    policy: VerificationPolicy | None = None,
) -> VerifiedSignature:
    """Verify a UCP response signature (``@status`` + digest/type); raise :class:`SignatureError`."""
    message = _ResponseMessage(status, _HeaderLines(headers))
    return _verify(message, response_components(body), body, keys, policy or VerificationPolicy())


def text_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI header bytes as the text pairs these functions take (latin-1 keeps every octet as sent)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def signed_target_uri(public_base_url: str, scope: Mapping[str, Any]) -> str:
    """The absolute URL a peer signed, as a server behind ``public_base_url`` reconstructs it.

    The origin is the configured public one (never the ``Host`` header a client
    could choose); path and query are the raw, still-encoded bytes of the ASGI
    ``scope``, so ``@path`` and ``@query`` match what the signer covered.
    """
    origin = urlsplit(public_base_url)
    raw_path: bytes = scope.get("raw_path") or str(scope["path"]).encode()
    url = f"{origin.scheme}://{origin.netloc}{raw_path.decode('latin-1')}"
    query: bytes = scope.get("query_string") or b""
    return f"{url}?{query.decode('latin-1')}" if query else url


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
    same library code path as signing. ``created`` must be present (we always
    emit it), since the library always writes one.
    """
    lines = _HeaderLines(headers)
    message: _RequestMessage | _ResponseMessage
    if status is not None:
        message = _ResponseMessage(status, lines)
    elif method is not None and url is not None:
        message = _RequestMessage(method, url, lines)
    else:
        raise MalformedInputError("message", "give either status, or method and url")
    label, components, params = _parse_signature_input(signature_input)
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
