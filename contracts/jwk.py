"""JSON Web Keys for UCP signing: parse, publish, thumbprint, rotate.

UCP publishes verification keys as JWKs in a profile's ``signing_keys[]``
(signatures.md "Key Format", SIG-06). ``joserfc`` does the JWK <-> key-object
conversion and the RFC 7638 thumbprint (it rejects points that are not on the
declared curve); the *policy* is ours and lives here, because joserfc accepts
any curve and any ``use``:

* verification keys: EC P-256 (ES256, required by SIG-01), EC P-384 (ES384,
  optional) and OKP Ed25519 (EdDSA, optional); anything else is
  ``algorithm_unsupported`` when it is used;
* a public JWK that carries private material (``d``) is refused outright;
* ``use`` other than ``sig`` or ``key_ops`` without ``verify`` make a key
  unusable for signatures (it is kept out of :meth:`JwkSet.signing_keys`);
* our own signing keys are P-256 only (SIG-03) and their ``kid`` defaults to
  the RFC 7638 thumbprint, so a kid can never silently name two keys.

:class:`KeyStore` signs with one active key and publishes/verifies with every
listed key, which is what the spec's rotation procedure needs (add the new key,
start signing with it, keep the old one published for >= 7 days, then remove).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from contracts.error_codes import ErrorCode
from contracts.errors import KeyFormatError

KID_PATTERN: Final = re.compile(r"[A-Za-z0-9._~:+/=-]{1,128}")
MAX_KEYS_PER_SET: Final = 32

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class SignatureAlgorithm(StrEnum):
    """JOSE algorithm names; the algorithm is derived from the key, never from the message (SIG-05)."""

    ES256 = "ES256"
    ES384 = "ES384"
    EDDSA = "EdDSA"


_CURVES: Final[dict[tuple[str, str], SignatureAlgorithm]] = {
    ("EC", "P-256"): SignatureAlgorithm.ES256,
    ("EC", "P-384"): SignatureAlgorithm.ES384,
    ("OKP", "Ed25519"): SignatureAlgorithm.EDDSA,
}


def _require_str(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise KeyFormatError(f"JWK member {name!r} must be a non-empty string", detail={"member": name})
    return value


@dataclass(frozen=True)
class PublicJwk:
    """A validated public JWK usable to verify UCP signatures."""

    kid: str
    kty: str
    crv: str
    x: str
    y: str | None = None
    use: str | None = None
    alg: str | None = None
    key_ops: tuple[str, ...] | None = None
    _key: PublicKey | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: object) -> PublicJwk:
        """Validate a JWK document; raise :class:`KeyFormatError` (``profile_malformed``) if unusable."""
        if not isinstance(data, Mapping):
            raise KeyFormatError("JWK must be a JSON object")
        if "d" in data:
            raise KeyFormatError("a public JWK must not contain private key material", detail={"member": "d"})
        kid = _require_str(data, "kid")
        assert kid is not None
        if not KID_PATTERN.fullmatch(kid):
            raise KeyFormatError("JWK kid has characters or a length we do not accept", detail={"member": "kid"})
        kty = _require_str(data, "kty")
        crv = _require_str(data, "crv")
        x = _require_str(data, "x")
        assert kty is not None and crv is not None and x is not None
        y = _require_str(data, "y", required=(kty == "EC"))
        use = _require_str(data, "use", required=False)
        alg = _require_str(data, "alg", required=False)
        raw_ops = data.get("key_ops")
        key_ops: tuple[str, ...] | None = None
        if raw_ops is not None:
            if not isinstance(raw_ops, list) or not all(isinstance(op, str) for op in raw_ops):
                raise KeyFormatError("JWK key_ops must be an array of strings", detail={"member": "key_ops"})
            key_ops = tuple(raw_ops)
        algorithm = _CURVES.get((kty, crv))
        if algorithm is not None and alg is not None and alg != algorithm.value:
            raise KeyFormatError(
                f"JWK alg {alg!r} contradicts its curve {crv!r}",
                code=ErrorCode.ALGORITHM_UNSUPPORTED,
                detail={"member": "alg"},
            )
        key = _import_public_key(kty, crv, x, y) if algorithm is not None else None
        return cls(kid=kid, kty=kty, crv=crv, x=x, y=y, use=use, alg=alg, key_ops=key_ops, _key=key)

    @property
    def algorithm(self) -> SignatureAlgorithm | None:
        """The signature algorithm this key verifies, or ``None`` if we do not support its type."""
        return _CURVES.get((self.kty, self.crv))

    @property
    def public_key(self) -> PublicKey:
        if self._key is None:
            raise KeyFormatError(
                f"key {self.kid!r} has unsupported type {self.kty}/{self.crv}",
                code=ErrorCode.ALGORITHM_UNSUPPORTED,
                detail={"kid": self.kid, "kty": self.kty, "crv": self.crv},
            )
        return self._key

    @property
    def is_signature_key(self) -> bool:
        """Whether the key may verify signatures (``use``/``key_ops`` allow it)."""
        if self.use is not None and self.use != "sig":
            return False
        return self.key_ops is None or "verify" in self.key_ops

    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint (base64url), independent of ``kid``/``use``/``alg``."""
        members: dict[str, str] = {"kty": self.kty, "crv": self.crv, "x": self.x}
        if self.y is not None:
            members["y"] = self.y
        key = ECKey.import_key(members) if self.kty == "EC" else OKPKey.import_key(members)  # type: ignore[arg-type]
        return str(key.thumbprint())

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kid": self.kid, "kty": self.kty, "crv": self.crv, "x": self.x}
        if self.y is not None:
            document["y"] = self.y
        if self.use is not None:
            document["use"] = self.use
        if self.alg is not None:
            document["alg"] = self.alg
        if self.key_ops is not None:
            document["key_ops"] = list(self.key_ops)
        return document


def _import_public_key(kty: str, crv: str, x: str, y: str | None) -> PublicKey:
    members: dict[str, str] = {"kty": kty, "crv": crv, "x": x}
    if y is not None:
        members["y"] = y
    key_class: type[ECKey] | type[OKPKey] = ECKey if kty == "EC" else OKPKey
    try:
        public: object = key_class.import_key(members).public_key  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise KeyFormatError(f"JWK coordinates are not a valid {crv} point", detail={"crv": crv}) from exc
    if not isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):  # pragma: no cover
        raise KeyFormatError("JWK did not yield a supported public key")
    return public


@dataclass(frozen=True)
class JwkSet:
    """An ordered set of public keys with unique ``kid`` values (a JWKS or a profile's ``signing_keys``)."""

    keys: tuple[PublicJwk, ...] = ()

    def __post_init__(self) -> None:
        kids = [key.kid for key in self.keys]
        if len(kids) != len(set(kids)):
            raise KeyFormatError("JWK set contains the same kid twice")
        if len(kids) > MAX_KEYS_PER_SET:
            raise KeyFormatError(f"JWK set has more than {MAX_KEYS_PER_SET} keys")

    @classmethod
    def from_list(cls, documents: object) -> JwkSet:
        """Parse a ``signing_keys`` array. Keys of unknown type are kept but never verify (RFC 7517 §5)."""
        if not isinstance(documents, list):
            raise KeyFormatError("signing_keys must be an array of JWKs")
        if len(documents) > MAX_KEYS_PER_SET:
            raise KeyFormatError(f"JWK set has more than {MAX_KEYS_PER_SET} keys")
        return cls(tuple(PublicJwk.from_dict(document) for document in documents))

    @classmethod
    def from_dict(cls, document: object) -> JwkSet:
        """Parse an RFC 7517 JWK Set document ``{"keys": [...]}``."""
        if not isinstance(document, Mapping) or "keys" not in document:
            raise KeyFormatError('JWK Set must be an object with a "keys" array')
        return cls.from_list(document["keys"])

    def find(self, kid: str) -> PublicJwk | None:
        """The key for ``kid`` if it may verify signatures, else ``None``."""
        for key in self.keys:
            if key.kid == kid and key.is_signature_key:
                return key
        return None

    def signing_keys(self) -> list[dict[str, Any]]:
        """Public JWK documents suitable for a profile's ``signing_keys[]``."""
        return [key.to_dict() for key in self.keys if key.is_signature_key]

    def to_dict(self) -> dict[str, Any]:
        return {"keys": [key.to_dict() for key in self.keys]}

    def merged(self, others: Iterable[PublicJwk]) -> JwkSet:
        known = {key.kid for key in self.keys}
        return JwkSet(self.keys + tuple(key for key in others if key.kid not in known))


class SigningKey:
    """An ES256 (P-256) private key with its ``kid``. Never printed, never serialized by accident."""

    __slots__ = ("_private", "kid")

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
            raise KeyFormatError("signing keys must be EC P-256 (ES256)", code=ErrorCode.ALGORITHM_UNSUPPORTED)
        self._private = private_key
        public_doc = ECKey.import_key(private_key.public_key()).as_dict(private=False)
        self.kid: str = kid or str(ECKey.import_key(public_doc).thumbprint())
        if not KID_PATTERN.fullmatch(self.kid):
            raise KeyFormatError("kid has characters or a length we do not accept")

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()), kid)

    @classmethod
    def from_private_jwk(cls, document: object) -> SigningKey:
        if not isinstance(document, Mapping) or not isinstance(document.get("d"), str):
            raise KeyFormatError("private JWK must be an object with a 'd' member")
        if document.get("kty") != "EC" or document.get("crv") != "P-256":
            raise KeyFormatError("signing keys must be EC P-256 (ES256)", code=ErrorCode.ALGORITHM_UNSUPPORTED)
        try:
            imported = ECKey.import_key(dict(document))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise KeyFormatError("private JWK is not a valid P-256 key") from exc
        private = imported.private_key
        if private is None:  # pragma: no cover - 'd' checked above
            raise KeyFormatError("private JWK has no private part")
        kid = document.get("kid")
        return cls(private, kid if isinstance(kid, str) else None)

    @classmethod
    def from_pem(cls, pem: bytes, kid: str | None = None) -> SigningKey:
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFormatError("PEM is not an unencrypted private key") from exc
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise KeyFormatError("signing keys must be EC P-256 (ES256)", code=ErrorCode.ALGORITHM_UNSUPPORTED)
        return cls(private, kid)

    @property
    def public_jwk(self) -> PublicJwk:
        document = dict(ECKey.import_key(self._private.public_key()).as_dict(private=False))
        document.update({"kid": self.kid, "use": "sig", "alg": SignatureAlgorithm.ES256.value})
        return PublicJwk.from_dict(document)

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The key object, for the RFC 9421 signer; do not log or persist it."""
        return self._private

    def to_private_jwk(self) -> dict[str, Any]:
        """The private JWK, for writing to a 0600 key file only."""
        document = dict(ECKey.import_key(self._private).as_dict(private=True))
        document.update({"kid": self.kid, "use": "sig", "alg": SignatureAlgorithm.ES256.value})
        return document

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, alg='ES256')"


class KeyStore:
    """Signs with the active key; verifies with every published key (rotation without downtime)."""

    def __init__(self, active: SigningKey, published: Iterable[PublicJwk] = ()) -> None:
        self.active = active
        self.jwks = JwkSet((active.public_jwk,)).merged(published)

    def rotate(self, new_active: SigningKey) -> KeyStore:
        """Start signing with ``new_active``; keep every current key published until retired."""
        return KeyStore(new_active, self.jwks.keys)

    def retire(self, kid: str) -> KeyStore:
        """Stop publishing (and so accepting) ``kid``; the active key cannot be retired."""
        if kid == self.active.kid:
            raise KeyFormatError("the active signing key cannot be retired; rotate first")
        return KeyStore(self.active, (key for key in self.jwks.keys if key.kid != kid))

    def find(self, kid: str) -> PublicJwk | None:
        return self.jwks.find(kid)
