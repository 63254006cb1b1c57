"""Detached JWS over a message body (RFC 7515 + RFC 7797): UCP 2026-01-11's ``Request-Signature``.

UCP 2026-01-11 signs webhooks -- and, per its OpenAPI, requests
(``Request-Signature``, required) and optionally responses
(``X-Detached-JWT``) -- with "a detached JWT (RFC 7797) over the request body
using [a key from] ``signing_keys``", the ``kid`` in the JWS header (order.md
"Webhook Signature Verification"). RFC 7797 is the *unencoded payload* option:
the protected header carries ``"b64": false`` and ``"crit": ["b64"]``, the
signing input is ``BASE64URL(header) || "." || body bytes``, and the compact
form leaves the payload out: ``header..signature``.

* :func:`sign_detached` produces exactly that with our ES256 key (raw
  ``r||s``, as JWS always encodes ECDSA);
* :func:`verify_detached` accepts the unencoded form and, for peers that
  detach an ordinary JWS, the base64url-encoded one too; the algorithm comes
  from the key (``alg`` in the header must agree with it), never from the
  message alone. Failures are :class:`~contracts.errors.SignatureError` with
  the spec's codes, as for RFC 9421.

``joserfc`` does the JWS work; this module only fixes the header and the
policy (ES256 keys from a profile, a ``kid`` that must name one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from contracts.base64url import b64url_decode
from contracts.canonical_json import parse_json
from contracts.error_codes import ErrorCode
from contracts.errors import SignatureError, UcpError
from contracts.jwk import JwkSet, PublicJwk, SigningKey

MAX_TOKEN_LENGTH: Final = 4096
_ALLOWED: Final = ("ES256", "ES384", "EdDSA")


@dataclass(frozen=True)
class VerifiedDetachedSignature:
    key: PublicJwk
    header: dict[str, object]


def sign_detached(body: bytes, key: SigningKey) -> str:
    """``header..signature`` over the raw ``body`` bytes (RFC 7797 unencoded payload)."""
    protected = {"alg": "ES256", "kid": key.kid, "b64": False, "crit": ["b64"]}
    token = jws.serialize_compact(protected, body, ECKey.import_key(key.private_key), algorithms=["ES256"])
    header, _, signature = token.split(".")
    return f"{header}..{signature}"


def verify_detached(token: str | None, body: bytes, keys: JwkSet) -> VerifiedDetachedSignature:
    """Verify a detached JWS over ``body`` with the signer's published keys."""
    if not token:
        raise SignatureError("no detached JWS signature", code=ErrorCode.SIGNATURE_MISSING, detail={"reason": "absent"})
    parts = token.strip().split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or parts[1]:
        raise _invalid("the signature is not a detached compact JWS (header..signature)", "malformed")
    header = _header(parts[0])
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise _invalid("the JWS header names no kid", "kid_missing")
    key = keys.find(kid)
    if key is None:
        raise SignatureError(f"no published key {kid!r}", code=ErrorCode.KEY_NOT_FOUND, detail={"kid": kid})
    algorithm = key.algorithm
    if algorithm is None or header.get("alg") != algorithm.value or algorithm.value not in _ALLOWED:
        raise SignatureError(
            "the JWS algorithm does not match the key",
            code=ErrorCode.ALGORITHM_UNSUPPORTED,
            detail={"kid": kid, "alg": str(header.get("alg"))},
        )
    members = {name: value for name, value in key.to_dict().items() if name in ("kty", "crv", "x", "y")}
    verifier = ECKey.import_key(members) if key.kty == "EC" else OKPKey.import_key(members)
    try:
        jws.deserialize_compact(token.strip(), verifier, payload=body, algorithms=[algorithm.value])
    except (JoseError, ValueError, TypeError) as exc:
        raise _invalid("the detached JWS does not verify over the body", "mismatch") from exc
    return VerifiedDetachedSignature(key=key, header=header)


def _header(segment: str) -> dict[str, object]:
    try:
        document = parse_json(b64url_decode(segment))
    except UcpError as exc:
        raise _invalid("the JWS header is not base64url JSON", "malformed") from exc
    if not isinstance(document, dict):
        raise _invalid("the JWS header is not an object", "malformed")
    if document.get("b64") is False and "b64" not in (document.get("crit") or []):
        raise _invalid('an unencoded payload ("b64": false) must be listed in "crit" (RFC 7797 §6)', "crit")
    return document


def _invalid(content: str, reason: str) -> SignatureError:
    return SignatureError(content, code=ErrorCode.SIGNATURE_INVALID, detail={"reason": reason})
