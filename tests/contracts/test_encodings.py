"""Canonical JSON (RFC 8785), strict JSON reading, base64url and Content-Digest (SIG-14, SIG-15)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    ErrorCode,
    MalformedInputError,
    SignatureError,
    b64url_decode,
    b64url_encode,
    canonical_json,
    canonical_sha256,
    content_digest,
    parse_json,
    verify_content_digest,
)

SAFE_INT = 2**53 - 1
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-SAFE_INT, max_value=SAFE_INT),
    # Integral doubles in [2^53, 1e21) print as integers JCS cannot read back exactly; UCP
    # amounts are safe integers, so the reader refuses those instead of rounding.
    st.floats(min_value=-SAFE_INT, max_value=SAFE_INT, allow_nan=False),
    st.floats(min_value=1e21, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _shuffled(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@settings(max_examples=200)
@given(value=json_values, seed=st.integers())
def test_jcs_is_byte_stable_across_key_order(value: object, seed: int) -> None:
    assert canonical_json(_shuffled(value, random.Random(seed))) == canonical_json(value)


@settings(max_examples=200)
@given(value=json_values)
def test_jcs_round_trips_through_the_strict_reader(value: object) -> None:
    encoded = canonical_json(value)
    assert canonical_json(parse_json(encoded)) == encoded


def test_jcs_matches_rfc8785_examples() -> None:
    """RFC 8785 §3.2.2/§3.2.3: UTF-16 key order, ES6 numbers, minimal escaping."""
    assert canonical_json({"b": 1, "a": [1.0, -0.0, 1e21]}) == b'{"a":[1,0,1e+21],"b":1}'
    assert canonical_json({"\u20ac": 1, "\r": 2, "\U0001f600": 3, "\ufb33": 4}) == (
        '{"\\r":2,"\u20ac":1,"\U0001f600":3,"\ufb33":4}'.encode()
    )
    assert canonical_json("é\u2028") == '"é\u2028"'.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, {"a": object()}, {1: "non-string key"}])
def test_jcs_refuses_what_it_cannot_represent(value: object) -> None:
    with pytest.raises(MalformedInputError):
        canonical_json(value)


def test_canonical_sha256_ignores_key_order() -> None:
    assert canonical_sha256({"a": 1, "b": 2}) == canonical_sha256({"b": 2, "a": 1})
    assert canonical_sha256({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b"NaN",
        b'{"a": Infinity}',
        b"\xff\xfe",
        b"{",
        b"",
        b"[" * 100 + b"]" * 100,
        b"[" * 100_000,
        b'{"a":1} {"b":2}',
    ],
)
def test_strict_reader_refuses_hostile_json(raw: bytes) -> None:
    with pytest.raises(MalformedInputError) as caught:
        parse_json(raw)
    assert caught.value.code is ErrorCode.MALFORMED_JSON


@settings(max_examples=300)
@given(raw=st.binary(max_size=64))
def test_strict_reader_only_raises_typed_errors(raw: bytes) -> None:
    with contextlib.suppress(MalformedInputError):
        parse_json(raw)


@given(data=st.binary(max_size=100))
def test_base64url_round_trips_without_padding(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert b64url_decode(encoded) == data


@pytest.mark.parametrize("text", ["AA==", "A", "a+b/", "ab c", "AB", "AAB", "é"])
def test_base64url_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(MalformedInputError):
        b64url_decode(text)


def test_content_digest_is_sha256_of_raw_bytes() -> None:
    """SIG-14: sha-256 over the exact bytes, RFC 9530 dictionary syntax."""
    body = b'{"checkout":{"line_items":[{"id":"prod_123","quantity":2}]}}'
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert content_digest(body) == f"sha-256=:{expected}:"
    verify_content_digest(content_digest(body), body)
    verify_content_digest(f"sha-512=:{base64.b64encode(bytes(64)).decode()}:, {content_digest(body)}", body)


def test_content_digest_is_over_bytes_not_json_meaning() -> None:
    """SIG-15: re-serialised JSON with the same meaning does not match."""
    body = b'{"a": 1}'
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(content_digest(body), json.dumps(json.loads(body), separators=(",", ":")).encode())
    assert caught.value.code is ErrorCode.DIGEST_MISMATCH


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("sha-256=abc", "malformed"),
        ("sha-256=:YWJj:", "malformed"),
        (f"sha-512=:{base64.b64encode(bytes(64)).decode()}:", "sha256_absent"),
        ("sha-256=:" + "A" * 2000 + ":", "too_large"),
        ("sha-256=:é:", "malformed"),
        ('sha-256="string"', "malformed"),
    ],
)
def test_bad_content_digest_headers(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(header, b"body")
    assert (caught.value.code, caught.value.reason) == (ErrorCode.DIGEST_MISMATCH, reason)
    assert caught.value.http_status == 400
