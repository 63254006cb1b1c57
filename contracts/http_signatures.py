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

Speed (issue 13): the signature base of the plain components UCP covers is
written directly (``contracts/signature_base.py``; the library's resolver still
gives every value) and signed or verified with the library's algorithm classes;
anything else takes the library's path. Field parsing and the coverage rules
are in ``contracts/signature_fields.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature as InvalidCryptoSignature
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from contracts import signature_base as direct
from contracts.authority import authority_hint
from contracts.content_digest import content_digest, verify_content_digest
from contracts.error_codes import ErrorCode
from contracts.errors import MalformedInputError, SignatureError
from contracts.jwk import PublicJwk, SignatureAlgorithm, SigningKey
from contracts.signature_fields import (
    SIGNATURE_LABEL,
    HeaderLines,
    Headers,
    ParsedSignature,
    RequestMessage,
    ResponseMessage,
    has_body,
    parse_signature_fields,
    request_components,
    response_components,
)
from contracts.signature_fields import fail as _fail
from contracts.signature_fields import signature_base as signature_base
from contracts.signature_fields import text_headers as text_headers

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
    message: RequestMessage | ResponseMessage,
    components: tuple[str, ...],
    body: bytes | None,
    key: SigningKey,
    created: dt.datetime | None,
) -> dict[str, str]:
    if has_body(body):
        assert body is not None
        expected = content_digest(body)
        present = message.headers.get("content-digest")
        if present is not None and present != expected:
            raise MalformedInputError("Content-Digest", "given header does not match the body")
        message.headers["Content-Digest"] = expected
        if "content-type" not in message.headers:
            raise MalformedInputError("headers", "a body needs a Content-Type to be signed")
    created = created or dt.datetime.now(dt.UTC)
    params_line = direct.signature_params(components, {"created": int(created.timestamp()), "keyid": key.kid})
    try:
        if params_line is not None:  # the direct base: the library's bytes at a fraction of its cost
            base = direct.build(message, components, params_line)
            raw = algorithms.ECDSA_P256_SHA256(private_key=key.private_key).sign(base)  # type: ignore[no-untyped-call]
            message.headers["Signature-Input"] = f"{SIGNATURE_LABEL}={params_line}"
            message.headers["Signature"] = direct.signature_member(SIGNATURE_LABEL, raw)
        else:
            _signer(key).sign(
                message,
                key_id=key.kid,
                created=created,
                label=SIGNATURE_LABEL,
                include_alg=False,
                covered_component_ids=components,
                use_existing_digest=has_body(body),
            )
    except HTTPMessageSignaturesException as exc:
        raise MalformedInputError("message", f"cannot be signed: {exc}") from exc
    added = {"Signature-Input": message.headers.get("signature-input"), "Signature": message.headers.get("signature")}
    if has_body(body):
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
    lines = HeaderLines(headers)
    message = RequestMessage(method.upper(), url, lines)
    return _sign(message, request_components(method, url, lines, body), body, key, created)


def sign_response(
    *,
    status: int,
    headers: Headers,
    body: bytes | None,
    key: SigningKey,
    created: dt.datetime | None = None,
) -> dict[str, str]:
    """Sign a response (``@status`` + digest/type with a body); return the headers to add."""
    message = ResponseMessage(status, HeaderLines(headers))
    return _sign(message, response_components(body), body, key, created)


# ---------------------------------------------------------------------------
# verification


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
    message: RequestMessage | ResponseMessage,
    required: tuple[str, ...],
    body: bytes | None,
    keys: VerificationKeys,
    policy: VerificationPolicy,
) -> VerifiedSignature:
    parsed = parse_signature_fields(message.headers)
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
    if has_body(body) or "content-digest" in parsed.components:
        verify_content_digest(message.headers.get("content-digest"), body or b"")
    created = _check_times(parsed.params, policy)
    if len(parsed.signature) != _RAW_SIGNATURE_LENGTH[algorithm]:
        raise _fail(
            ErrorCode.SIGNATURE_INVALID,
            "signature_encoding",
            f"{algorithm.value} signatures are {_RAW_SIGNATURE_LENGTH[algorithm]} raw bytes (r||s), not DER",
        )
    try:
        _check_signature(message, parsed, required, body, hms_algorithm, key, policy)
    except (HTTPMessageSignaturesException, InvalidCryptoSignature, ValueError, TypeError) as exc:
        raise _verification_failed(message, parsed, kid) from exc
    return VerifiedSignature(key=key, label=parsed.label, covered_components=parsed.components, created=created)


def _check_signature(
    message: RequestMessage | ResponseMessage,
    parsed: ParsedSignature,
    required: tuple[str, ...],
    body: bytes | None,
    hms_algorithm: type[algorithms.HTTPSignatureAlgorithm],
    key: PublicJwk,
    policy: VerificationPolicy,
) -> None:
    """The cryptographic check, over the direct base when it applies (``contracts.signature_base``), else the
    library's verifier; the policy checks above already passed. Raises on a bad signature."""
    params_line = direct.signature_params(parsed.components, parsed.params)
    if params_line is None:
        verifier = HTTPMessageVerifier(
            signature_algorithm=hms_algorithm, key_resolver=_SingleKeyResolver(str(key.kid), public=key.public_key)
        )
        verifier.require_created = False
        verifier.max_clock_skew = policy.max_clock_skew
        verifier.verify(message, max_age=None, body=body or b"", require_components=required)
        return
    # As the library's verify(body=...): a body, or a Content-Digest sent, needs the digest signed (SIG-24).
    if (has_body(body) or "content-digest" in message.headers) and "content-digest" not in parsed.components:
        raise InvalidSignature("The message body requires a signed Content-Digest")
    base = direct.build(message, parsed.components, params_line)
    hms_algorithm(public_key=key.public_key).verify(signature=parsed.signature, message=base)


def _verification_failed(
    message: RequestMessage | ResponseMessage, parsed: ParsedSignature, kid: str
) -> SignatureError:
    """A failed signature; over ``@authority``, it names the authority expected (``contracts.authority``)."""
    if not isinstance(message, RequestMessage) or "@authority" not in parsed.components:
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
    parsed = parse_signature_fields(HeaderLines(headers))
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
    lines = HeaderLines(headers)
    message = RequestMessage(method, url, lines)
    required = request_components(method, url, lines, body)
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
    message = ResponseMessage(status, HeaderLines(headers))
    return _verify(message, response_components(body), body, keys, policy or VerificationPolicy())


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
