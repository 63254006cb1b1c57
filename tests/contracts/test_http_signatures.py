"""Sign/verify behaviour beyond the vectors: properties, rotation, parsers under hostile input.

Covers SIG-01, SIG-11, SIG-13..SIG-22, SIG-24, SIG-25, IDM-01.
"""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import (
    ErrorCode,
    JwkSet,
    KeyStore,
    SignatureError,
    SigningKey,
    UcpError,
    VerificationPolicy,
    format_ucp_agent,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

KEY = SigningKey.generate()
KEYS = KeyStore(KEY)
AGENT = format_ucp_agent("https://platform.example/.well-known/ucp")

_segment = st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=1, max_size=12)
paths = st.lists(_segment, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts))
queries = st.one_of(
    st.none(),
    st.lists(
        st.tuples(
            st.text(string.ascii_lowercase, min_size=1, max_size=6),
            st.text(string.ascii_letters + string.digits, max_size=8),
        ),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
bodies = st.one_of(st.none(), st.binary(min_size=1, max_size=512))
hosts = st.sampled_from(["merchant.example", "merchant.example:8443", "127.0.0.1:9000", "[::1]:8080"])


def _request_headers(method: str, body: bytes | None) -> list[tuple[str, str]]:
    headers = [("UCP-Agent", AGENT)]
    if method in {"POST", "PUT", "DELETE", "PATCH"}:
        headers.append(("Idempotency-Key", "k" * 30))
    if body:
        headers.append(("Content-Type", "application/json"))
    return headers


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, host=hosts, path=paths, query=queries, body=bodies)
def test_sign_then_verify_round_trips(method: str, host: str, path: str, query: str | None, body: bytes | None) -> None:
    url = f"https://{host}{path}" + (f"?{query}" if query is not None else "")
    headers = _request_headers(method, body)
    added = sign_request(method=method, url=url, headers=headers, body=body, key=KEY)
    result = verify_request(method=method, url=url, headers=headers + list(added.items()), body=body, keys=KEYS)
    assert result.key.kid == KEY.kid
    assert ("@query" in result.covered_components) == (query is not None)
    assert ("content-digest" in result.covered_components) == bool(body)


@settings(max_examples=100)
@given(status=st.integers(min_value=100, max_value=599), body=bodies)
def test_response_sign_then_verify_round_trips(status: int, body: bytes | None) -> None:
    headers = [("Content-Type", "application/json")] if body else []
    added = sign_response(status=status, headers=headers, body=body, key=KEY)
    result = verify_response(status=status, headers=headers + list(added.items()), body=body, keys=KEYS)
    assert result.covered_components[0] == "@status"


@settings(max_examples=100)
@given(body=st.binary(min_size=1, max_size=256), flip=st.integers(min_value=0, max_value=255))
def test_any_body_change_is_a_digest_mismatch(body: bytes, flip: int) -> None:
    """SIG-24: tampering with any byte is reported as digest_mismatch before the signature is checked."""
    headers = [("Content-Type", "application/json"), ("Idempotency-Key", "k" * 22)]
    url = "https://merchant.example/checkout-sessions"
    added = sign_request(method="POST", url=url, headers=headers, body=body, key=KEY)
    tampered = bytearray(body)
    tampered[flip % len(body)] ^= 0x01
    with pytest.raises(SignatureError) as caught:
        verify_request(method="POST", url=url, headers=headers + list(added.items()), body=bytes(tampered), keys=KEYS)
    assert caught.value.code is ErrorCode.DIGEST_MISMATCH


def _signed_post(**overrides: object) -> tuple[list[tuple[str, str]], bytes]:
    body = b'{"line_items":[]}'
    headers = [("Content-Type", "application/json"), ("UCP-Agent", AGENT), ("Idempotency-Key", "k" * 22)]
    added = sign_request(method="POST", url="https://m.example/checkout-sessions", headers=headers, body=body, key=KEY)
    return headers + list(added.items()), body


def _verify_post(headers: list[tuple[str, str]], body: bytes, **kwargs: object) -> object:
    return verify_request(
        method="POST",
        url="https://m.example/checkout-sessions",
        headers=headers,
        body=body,
        keys=KEYS,
        **kwargs,  # type: ignore[arg-type]
    )


def test_signature_not_covering_idempotency_key_is_rejected() -> None:
    """SIG-18/IDM-01: a mutation's Idempotency-Key must be signed."""
    body = b"{}"
    url = "https://m.example/checkout-sessions"
    signed_without = [("Content-Type", "application/json")]
    added = sign_request(method="POST", url=url, headers=signed_without, body=body, key=KEY)
    headers = signed_without + list(added.items()) + [("Idempotency-Key", "k" * 22)]
    with pytest.raises(SignatureError) as caught:
        verify_request(method="POST", url=url, headers=headers, body=body, keys=KEYS)
    assert caught.value.reason == "coverage_incomplete"
    assert caught.value.detail["missing_components"] == ["idempotency-key"]


def test_added_ucp_agent_after_signing_is_rejected() -> None:
    """SIG-17: ucp-agent must be covered when the header is present."""
    url = "https://m.example/orders/1"
    added = sign_request(method="GET", url=url, headers=[], body=None, key=KEY)
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url=url, headers=[*added.items(), ("UCP-Agent", AGENT)], body=None, keys=KEYS)
    assert caught.value.detail["missing_components"] == ["ucp-agent"]


def test_body_on_a_signature_without_digest_is_rejected() -> None:
    """SIG-19: a body needs content-digest and content-type coverage."""
    url = "https://m.example/checkout-sessions/1/cancel"
    headers = [("Idempotency-Key", "k" * 22)]
    added = sign_request(method="POST", url=url, headers=headers, body=None, key=KEY)
    with pytest.raises(SignatureError) as caught:
        verify_request(
            method="POST",
            url=url,
            headers=[*headers, *added.items(), ("Content-Type", "application/json")],
            body=b"{}",
            keys=KEYS,
        )
    assert caught.value.reason == "coverage_incomplete"
    assert caught.value.detail["missing_components"] == ["content-digest", "content-type"]


def test_created_is_optional_but_future_and_expired_are_not() -> None:
    """SIG-22: created is optional; a future created or an exceeded max_age fails."""
    url = "https://m.example/orders/1"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    added = sign_request(method="GET", url=url, headers=[], body=None, key=KEY, created=future)
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url=url, headers=list(added.items()), body=None, keys=KEYS)
    assert caught.value.reason == "created_in_future"

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    added = sign_request(method="GET", url=url, headers=[], body=None, key=KEY, created=old)
    verify_request(method="GET", url=url, headers=list(added.items()), body=None, keys=KEYS)  # no max_age: ok
    with pytest.raises(SignatureError) as caught:
        verify_request(
            method="GET",
            url=url,
            headers=list(added.items()),
            body=None,
            keys=KEYS,
            policy=VerificationPolicy(max_age=dt.timedelta(minutes=5)),
        )
    assert caught.value.reason == "expired"


def test_rotation_old_and_new_keys_verify_until_retired() -> None:
    """SIG-10/11/12: after rotation both keys verify; a retired key stops verifying."""
    old, new = SigningKey.generate(), SigningKey.generate()
    store = KeyStore(old).rotate(new)
    assert store.active is new
    url = "https://m.example/orders/1"
    by_old = list(sign_request(method="GET", url=url, headers=[], body=None, key=old).items())
    by_new = list(sign_request(method="GET", url=url, headers=[], body=None, key=new).items())
    verify_request(method="GET", url=url, headers=by_old, body=None, keys=store)
    verify_request(method="GET", url=url, headers=by_new, body=None, keys=store)
    retired = store.retire(old.kid)
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url=url, headers=by_old, body=None, keys=retired)
    assert caught.value.code is ErrorCode.KEY_NOT_FOUND
    assert [key["kid"] for key in retired.jwks.signing_keys()] == [new.kid]


def test_two_signatures_are_refused() -> None:
    headers, body = _signed_post()
    doubled = [
        (name, f"{value}, sig2={value.split('=', 1)[1]}" if name in {"Signature-Input", "Signature"} else value)
        for name, value in headers
    ]
    with pytest.raises(SignatureError) as caught:
        _verify_post(doubled, body)
    assert caught.value.reason == "signature_count"


@pytest.mark.parametrize(
    ("signature_input", "signature", "reason"),
    [
        ("sig1=(", "sig1=:AAAA:", "malformed_header"),
        ('sig1=("@method";keyid="k"', "sig1=:AAAA:", "malformed_header"),
        ('sig1="not-a-list";keyid="k"', "sig1=:AAAA:", "malformed_header"),
        ('sig1=("@method" "@authority" "@path");keyid="k"', "sig1=:not base64!:", "malformed_header"),
        ('sig1=("@method" "@authority" "@path");keyid="k"', "sig1=AAAA", "malformed_header"),
        ('sig1=("@method" "@authority" "@path");keyid="k"', "sig2=:AAAA:", "signature_count"),
        ('sig1=("@method" "@authority" "@path")', "sig1=:AAAA:", "keyid_missing"),
        ('sig1=("@method" "@authority" "@path");keyid=1', "sig1=:AAAA:", "keyid_missing"),
        ('sig1=("@method" "@authority" "@path");keyid="k";created="x"', "sig1=:AAAA:", "key_not_found"),
        ("sig1=(" + " ".join(f'"h{i}"' for i in 40 * [0]) + ")", "sig1=:AAAA:", "too_many_components"),
        ("s" * 5000, "sig1=:AAAA:", "header_too_large"),
        ('sig1=("@method" "@authority" "@path");keyid="é"', "sig1=:AAAA:", "malformed_header"),
    ],
)
def test_malformed_signature_headers_raise_typed_errors(signature_input: str, signature: str, reason: str) -> None:
    """Hostile Signature-Input/Signature values map to frozen codes, never a bare exception."""
    headers = [("Signature-Input", signature_input), ("Signature", signature)]
    with pytest.raises(UcpError) as caught:
        verify_request(method="GET", url="https://m.example/x", headers=headers, body=None, keys=JwkSet())
    if reason == "key_not_found":
        assert caught.value.code is ErrorCode.KEY_NOT_FOUND
    else:
        assert caught.value.reason == reason
        assert caught.value.code in {ErrorCode.SIGNATURE_INVALID, ErrorCode.SIGNATURE_MISSING}


@settings(max_examples=300)
@given(signature_input=st.text(max_size=300), signature=st.text(max_size=200), digest=st.text(max_size=100))
def test_fuzzed_signature_headers_only_raise_ucp_errors(signature_input: str, signature: str, digest: str) -> None:
    headers = [("Signature-Input", signature_input), ("Signature", signature), ("Content-Digest", digest)]
    with pytest.raises(UcpError):
        verify_request(method="POST", url="https://m.example/x", headers=headers, body=b"{}", keys=KEYS)


def test_unsigned_get_is_signature_missing() -> None:
    """SIG-25, DESIGN invariant 1: GET requests are verified too."""
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url="https://m.example/checkout-sessions", headers=[], body=None, keys=KEYS)
    assert caught.value.code is ErrorCode.SIGNATURE_MISSING
    assert caught.value.http_status == 401


def test_signing_a_body_without_content_type_is_refused() -> None:
    with pytest.raises(UcpError):
        sign_request(method="POST", url="https://m.example/x", headers=[], body=b"{}", key=KEY)
