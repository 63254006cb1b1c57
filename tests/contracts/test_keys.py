"""JWK parsing/publishing, thumbprints and the key store (SIG-03, SIG-06, SIG-10..SIG-12)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from contracts import ErrorCode, JwkSet, KeyFormatError, KeyStore, PublicJwk, SignatureAlgorithm, SigningKey, UcpError

RFC7517_A1_EC = {
    "kty": "EC",
    "crv": "P-256",
    "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
    "use": "enc",
    "kid": "1",
}


def test_rfc7638_thumbprint_of_the_rfc7517_example_key() -> None:
    key = PublicJwk.from_dict(RFC7517_A1_EC)
    assert key.thumbprint() == "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"
    assert key.thumbprint() == PublicJwk.from_dict({**RFC7517_A1_EC, "kid": "other", "use": "sig"}).thumbprint()


def test_spec_example_signing_key_parses_as_es256() -> None:
    """SIG-06: the signatures.md example JWK."""
    key = PublicJwk.from_dict(
        {
            "kid": "key-2024-01-15",
            "kty": "EC",
            "crv": "P-256",
            "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
            "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE",
            "use": "sig",
            "alg": "ES256",
        }
    )
    assert key.algorithm is SignatureAlgorithm.ES256
    assert key.is_signature_key


def test_generated_signing_key_publishes_a_p256_sig_key_without_private_parts() -> None:
    """SIG-03/SIG-06: P-256, kid = RFC 7638 thumbprint by default, no 'd' in public output."""
    key = SigningKey.generate()
    public = key.public_jwk.to_dict()
    assert public["crv"] == "P-256" and public["kty"] == "EC" and public["use"] == "sig" and public["alg"] == "ES256"
    assert "d" not in public
    assert key.kid == key.public_jwk.thumbprint()
    assert key.to_private_jwk()["d"] not in repr(key) + str(key)


def test_private_jwk_and_pem_round_trip() -> None:
    key = SigningKey.generate(kid="dev-2026")
    again = SigningKey.from_private_jwk(key.to_private_jwk())
    assert again.kid == "dev-2026" and again.public_jwk == key.public_jwk
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert SigningKey.from_pem(pem, kid="dev-2026").public_jwk == key.public_jwk


@pytest.mark.parametrize(
    "document",
    [
        "not an object",
        [],
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {**RFC7517_A1_EC, "kid": ""},
        {**RFC7517_A1_EC, "kid": 'bad"kid'},
        {**RFC7517_A1_EC, "x": "AAAA"},
        {**RFC7517_A1_EC, "y": 7},
        {**RFC7517_A1_EC, "crv": "P-384"},
        {**RFC7517_A1_EC, "d": "secret"},
        {**RFC7517_A1_EC, "alg": "ES384"},
        {**RFC7517_A1_EC, "key_ops": "verify"},
    ],
)
def test_bad_jwks_raise_typed_errors(document: object) -> None:
    with pytest.raises(KeyFormatError) as caught:
        PublicJwk.from_dict(document)
    assert caught.value.code in {ErrorCode.PROFILE_MALFORMED, ErrorCode.ALGORITHM_UNSUPPORTED}


@given(st.text(max_size=200))
def test_non_json_jwk_text_never_crashes(text: str) -> None:
    try:
        document = json.loads(text)
    except ValueError:
        document = text
    with pytest.raises(UcpError):
        PublicJwk.from_dict(document)


def test_unsupported_key_types_are_kept_but_cannot_verify() -> None:
    """RFC 7517 §5: unknown kty in a set is ignored; using it is algorithm_unsupported."""
    rsa_like = {"kid": "rsa-1", "kty": "RSA", "crv": "none", "x": "AQAB"}
    keys = JwkSet.from_list([rsa_like, RFC7517_A1_EC])
    unsupported = keys.keys[0]
    assert unsupported.algorithm is None
    with pytest.raises(KeyFormatError) as caught:
        _ = unsupported.public_key
    assert caught.value.code is ErrorCode.ALGORITHM_UNSUPPORTED


def test_sig_filtering_drops_encryption_keys() -> None:
    enc = PublicJwk.from_dict(RFC7517_A1_EC)  # use = enc
    sig = SigningKey.generate().public_jwk
    ops = PublicJwk.from_dict({**sig.to_dict(), "kid": "ops", "use": None, "key_ops": ["encrypt"]} | {"use": "sig"})
    keys = JwkSet((enc, sig, ops))
    assert keys.find(enc.kid) is None
    assert keys.find(ops.kid) is None
    assert keys.find(sig.kid) == sig
    assert [document["kid"] for document in keys.signing_keys()] == [sig.kid]


def test_jwk_set_document_round_trip_and_duplicates() -> None:
    sig = SigningKey.generate().public_jwk
    document = JwkSet((sig,)).to_dict()
    assert JwkSet.from_dict(document) == JwkSet((sig,))
    with pytest.raises(KeyFormatError):
        JwkSet.from_list([sig.to_dict(), sig.to_dict()])
    with pytest.raises(KeyFormatError):
        JwkSet.from_dict({"no": "keys"})
    with pytest.raises(KeyFormatError):
        JwkSet.from_list([sig.to_dict()] * 40)


def test_key_store_signs_with_active_and_publishes_all_until_retired() -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    store = KeyStore(first).rotate(second)
    assert store.active is second
    assert {key["kid"] for key in store.jwks.signing_keys()} == {first.kid, second.kid}
    with pytest.raises(KeyFormatError):
        store.retire(second.kid)
    assert store.retire(first.kid).find(first.kid) is None


def test_signing_keys_must_be_p256() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(KeyFormatError) as caught:
        SigningKey(ec.generate_private_key(ec.SECP384R1()))
    assert caught.value.code is ErrorCode.ALGORITHM_UNSUPPORTED
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(b"-----BEGIN NOTHING-----")
    with pytest.raises(KeyFormatError):
        SigningKey.from_private_jwk({"kty": "EC", "crv": "P-256", "x": "A", "y": "A", "d": "A"})
