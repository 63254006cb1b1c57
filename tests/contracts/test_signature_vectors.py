"""RFC 9421 test vectors: we reproduce, verify, and independently check them; every mutation fails.

Covers SIG-01, SIG-05, SIG-13..SIG-22, SIG-24, SIG-25, SIG-26.
"""

from __future__ import annotations

import base64
import copy
import json
from importlib import resources
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from contracts import ErrorCode, JwkSet, PublicJwk, SignatureError, SigningKey, verify_request, verify_response
from contracts.http_signatures import signature_base
from contracts.vectors.regenerate import load_test_key

VECTORS: dict[str, Any] = json.loads(
    resources.files("contracts.vectors").joinpath("signatures.json").read_text(encoding="utf-8")
)
CASES = {case["name"]: case for case in VECTORS["cases"]}
REQUESTS = [name for name, case in CASES.items() if case["kind"] == "request"]
RESPONSES = [name for name, case in CASES.items() if case["kind"] == "response"]
PUBLIC_KEY = PublicJwk.from_dict(VECTORS["public_key"])
KEYS = JwkSet((PUBLIC_KEY,))


def _body(case: dict[str, Any]) -> bytes | None:
    return None if case["body"] is None else case["body"].encode()


def _headers(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in case["headers"]]


def _header(case: dict[str, Any], name: str) -> str:
    return next(value for field, value in case["headers"] if field.lower() == name.lower())


def _set_header(case: dict[str, Any], name: str, value: str) -> None:
    case["headers"] = [[field, value if field.lower() == name.lower() else old] for field, old in case["headers"]]


def _verify(case: dict[str, Any], keys: Any = KEYS) -> Any:
    if case["kind"] == "request":
        return verify_request(
            method=case["method"], url=case["url"], headers=_headers(case), body=_body(case), keys=keys
        )
    return verify_response(status=case["status"], headers=_headers(case), body=_body(case), keys=keys)


def _raw_signature(case: dict[str, Any]) -> bytes:
    value = _header(case, "Signature")
    assert value.startswith("sig1=:") and value.endswith(":")
    return base64.b64decode(value[len("sig1=:") : -1])


def test_vector_key_is_the_published_test_key() -> None:
    """The committed private test key matches the public key in the vectors and is labelled test-only."""
    assert load_test_key().public_jwk == PUBLIC_KEY
    assert "test" in PUBLIC_KEY.kid and "not-secret" in PUBLIC_KEY.kid


@pytest.mark.parametrize("name", list(CASES))
def test_we_verify_every_vector(name: str) -> None:
    result = _verify(CASES[name])
    assert result.key.kid == PUBLIC_KEY.kid
    assert result.created == VECTORS["created"]


@pytest.mark.parametrize("name", list(CASES))
def test_we_produce_the_same_signature_base(name: str) -> None:
    case = CASES[name]
    kwargs: dict[str, Any] = (
        {"method": case["method"], "url": case["url"]} if case["kind"] == "request" else {"status": case["status"]}
    )
    base = signature_base(headers=_headers(case), signature_input=_header(case, "Signature-Input"), **kwargs)
    assert base.decode() == case["signature_base"]


@pytest.mark.parametrize("name", list(CASES))
def test_cryptography_verifies_the_raw_signature_over_the_base(name: str) -> None:
    """Independent check with pyca/cryptography: r||s over the stored base, nothing of ours involved."""
    case = CASES[name]
    raw = _raw_signature(case)
    assert len(raw) == 64  # SIG-20: fixed-width r||s, not DER
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = PUBLIC_KEY.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(der, case["signature_base"].encode(), ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("name", REQUESTS)
def test_http_message_signatures_library_accepts_our_request_signatures(name: str) -> None:
    """Independent check with the RFC 9421 library used directly, outside contracts."""
    case = CASES[name]
    message = type("Req", (), {})()
    message.method, message.url, message.headers = case["method"], case["url"], dict(case["headers"])
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key_resolver=MappingKeyResolver(public_keys={PUBLIC_KEY.kid: PUBLIC_KEY.public_key}, private_keys={}),
    )
    verifier.require_created = False
    body = _body(case)
    results = verifier.verify(message, max_age=None, body=body or b"")
    assert results[0].parameters["keyid"] == PUBLIC_KEY.kid
    assert "alg" not in results[0].parameters  # SIG-05


def test_signature_input_never_carries_alg() -> None:
    """SIG-05: the algorithm is derived from the key, not sent in Signature-Input."""
    for case in CASES.values():
        assert ";alg=" not in _header(case, "Signature-Input")


def test_request_coverage_follows_the_spec() -> None:
    """SIG-16..19: method/authority/path always; query, ucp-agent, idempotency-key, digest+type when present."""
    assert '"@query"' in _header(CASES["get_with_query"], "Signature-Input")
    assert '"@query"' not in _header(CASES["get_minimal"], "Signature-Input")
    post = _header(CASES["post_create_checkout"], "Signature-Input")
    for component in (
        "@method",
        "@authority",
        "@path",
        "ucp-agent",
        "idempotency-key",
        "content-digest",
        "content-type",
    ):
        assert f'"{component}"' in post
    assert _header(CASES["response_201_created"], "Signature-Input").startswith(
        'sig1=("@status" "content-digest" "content-type")'
    )


# --- mutations: each single-field change must fail, with the right code and reason -----------------


def _mutated(name: str) -> dict[str, Any]:
    return copy.deepcopy(CASES[name])


def _expect(case: dict[str, Any], code: ErrorCode, reason: str, keys: Any = KEYS) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        _verify(case, keys)
    assert (caught.value.code, caught.value.reason) == (code, reason), caught.value
    return caught.value


@pytest.mark.parametrize("name", REQUESTS)
def test_changed_method_fails(name: str) -> None:
    case = _mutated(name)
    case["method"] = "DELETE" if case["method"] != "DELETE" else "GET"
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", REQUESTS)
def test_changed_path_fails(name: str) -> None:
    case = _mutated(name)
    scheme, rest = case["url"].split("://", 1)
    authority, path = rest.split("/", 1)
    case["url"] = f"{scheme}://{authority}/v2/{path}"
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", REQUESTS)
def test_changed_or_added_query_fails(name: str) -> None:
    case = _mutated(name)
    if "?" in case["url"]:
        case["url"] = case["url"].replace("totals", "totalz")
        _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")
    else:
        case["url"] += "?admin=1"
        error = _expect(case, ErrorCode.SIGNATURE_INVALID, "coverage_incomplete")
        assert error.detail["missing_components"] == ["@query"]


def test_removed_query_fails() -> None:
    case = _mutated("get_with_query")
    case["url"] = case["url"].split("?")[0]
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", REQUESTS)
def test_changed_authority_fails(name: str) -> None:
    case = _mutated(name)
    case["url"] = case["url"].replace(".example", ".evil", 1)
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["body"]])
def test_changed_body_byte_fails_as_digest_mismatch(name: str) -> None:
    case = _mutated(name)
    body = case["body"]
    case["body"] = body[:-2] + ("0" if body[-2] != "0" else "1") + body[-1]
    _expect(case, ErrorCode.DIGEST_MISMATCH, "mismatch")


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("post_create_checkout", "Idempotency-Key"),
        ("post_create_checkout", "UCP-Agent"),
        ("post_create_checkout", "Content-Type"),
        ("get_with_query", "UCP-Agent"),
        ("response_201_created", "Content-Type"),
    ],
)
def test_changed_covered_header_fails(name: str, header: str) -> None:
    case = _mutated(name)
    original = _header(case, header)
    _set_header(case, header, original.replace("a", "b", 1) if "a" in original else original + "x")
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", RESPONSES)
def test_changed_status_fails(name: str) -> None:
    case = _mutated(name)
    case["status"] = 500
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed")


@pytest.mark.parametrize("name", list(CASES))
def test_unknown_kid_is_key_not_found(name: str) -> None:
    case = _mutated(name)
    _set_header(case, "Signature-Input", _header(case, "Signature-Input").replace(PUBLIC_KEY.kid, "rotated-away"))
    error = _expect(case, ErrorCode.KEY_NOT_FOUND, "unknown_kid")
    assert error.http_status == 401


def test_kid_pointing_at_another_valid_key_fails() -> None:
    case = _mutated("post_create_checkout")
    other = SigningKey.generate(kid="other-key").public_jwk
    _set_header(case, "Signature-Input", _header(case, "Signature-Input").replace(PUBLIC_KEY.kid, "other-key"))
    _expect(case, ErrorCode.SIGNATURE_INVALID, "verification_failed", keys=JwkSet((PUBLIC_KEY, other)))


@pytest.mark.parametrize("name", list(CASES))
def test_der_encoded_signature_is_refused(name: str) -> None:
    """SIG-20: the same signature, DER-encoded, is not accepted."""
    case = _mutated(name)
    raw = _raw_signature(case)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    _set_header(case, "Signature", f"sig1=:{base64.b64encode(der).decode()}:")
    _expect(case, ErrorCode.SIGNATURE_INVALID, "signature_encoding")


def test_key_on_another_curve_under_the_same_kid_fails() -> None:
    case = _mutated("post_create_checkout")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()

    def b64(number: int) -> str:
        return base64.urlsafe_b64encode(number.to_bytes(48, "big")).rstrip(b"=").decode()

    imposter = PublicJwk.from_dict(
        {"kid": PUBLIC_KEY.kid, "kty": "EC", "crv": "P-384", "x": b64(p384.x), "y": b64(p384.y)}
    )
    _expect(case, ErrorCode.SIGNATURE_INVALID, "signature_encoding", keys=JwkSet((imposter,)))


def test_removed_signature_is_signature_missing() -> None:
    """SIG-25."""
    case = _mutated("get_minimal")
    case["headers"] = [pair for pair in case["headers"] if pair[0] != "Signature"]
    error = _expect(case, ErrorCode.SIGNATURE_MISSING, "header_missing")
    assert error.detail["missing_headers"] == ["Signature"]


def test_declared_alg_that_contradicts_the_key_is_algorithm_unsupported() -> None:
    """SIG-02/SIG-05: a peer's alg must agree with the key's curve."""
    case = _mutated("get_minimal")
    _set_header(case, "Signature-Input", _header(case, "Signature-Input") + ';alg="rsa-pss-sha512"')
    error = _expect(case, ErrorCode.ALGORITHM_UNSUPPORTED, "alg_mismatch")
    assert error.http_status == 400
