"""The coverage and key-lookup rules of the signature gate, one rule per test (mutation testing found them loose).

``screen_request_signature`` (the body-less screen the API runs before reading a body) had no direct test, and
the edges of the required-component rules (a lower-case method, a GET carrying an Idempotency-Key, a ``?``
inside a fragment, an empty body) were only ever exercised on their happy side, so mutants of them survived
(docs/spec-coverage.md "Mutation testing"). Covers SIG-08 (keyid -> kid lookup, none -> key_not_found),
SIG-16..SIG-19 (request coverage), SIG-21 (response coverage).
"""

from __future__ import annotations

import pytest

from contracts import (
    ErrorCode,
    KeyStore,
    SignatureError,
    SigningKey,
    format_ucp_agent,
    screen_request_signature,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

KEY = SigningKey.generate("platform-2026")
KEYS = KeyStore(KEY).jwks
URL = "https://m.example/checkout-sessions"


def _signed(method: str = "GET", url: str = URL, headers: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    base = headers or []
    return [*base, *sign_request(method=method, url=url, headers=base, body=None, key=KEY).items()]


def test_the_screen_returns_the_key_the_signature_names() -> None:
    """SIG-08: the keyid is looked up among the registered keys; the key returned is that very key."""
    key = screen_request_signature(_signed(), KEYS)
    assert key.kid == "platform-2026" and key == KEY.public_jwk


def test_the_screen_refuses_an_unknown_kid_with_key_not_found() -> None:
    """SIG-08: no key with that kid -> key_not_found (401), the kid named for the caller's refresh."""
    stranger = SigningKey.generate("stranger-2026")
    headers = [*sign_request(method="GET", url=URL, headers=[], body=None, key=stranger).items()]
    with pytest.raises(SignatureError) as caught:
        screen_request_signature(headers, KEYS)
    assert caught.value.code is ErrorCode.KEY_NOT_FOUND and caught.value.reason == "unknown_kid"
    assert caught.value.detail["kid"] == "stranger-2026"


@pytest.mark.parametrize("keyid", ["", ';keyid=""', ";keyid=1"])
def test_the_screen_refuses_a_signature_without_a_usable_keyid(keyid: str) -> None:
    """SIG-08: a Signature-Input without a string keyid names no key: signature_invalid / keyid_missing."""
    headers = [("Signature-Input", f'sig1=("@method" "@authority" "@path"){keyid}'), ("Signature", "sig1=:AAAA:")]
    with pytest.raises(SignatureError) as caught:
        screen_request_signature(headers, KEYS)
    assert caught.value.code is ErrorCode.SIGNATURE_INVALID and caught.value.reason == "keyid_missing"


def test_the_screen_refuses_an_unsigned_request() -> None:
    with pytest.raises(SignatureError) as caught:
        screen_request_signature([("UCP-Agent", "x")], KEYS)
    assert caught.value.code is ErrorCode.SIGNATURE_MISSING


def test_a_lower_case_mutating_method_still_needs_its_idempotency_key_covered() -> None:
    """SIG-18: the method is compared case-insensitively, so ``post`` cannot skip idempotency-key coverage."""
    headers = [*_signed("POST"), ("Idempotency-Key", "k" * 22)]
    with pytest.raises(SignatureError) as caught:
        verify_request(method="post", url=URL, headers=headers, body=None, keys=KEYS)
    assert caught.value.detail["missing_components"] == ["idempotency-key"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_read_does_not_need_an_idempotency_key_covered(method: str) -> None:
    """SIG-18 binds POST, PUT, DELETE, PATCH only: a read carrying an unsigned Idempotency-Key verifies."""
    headers = [*_signed(method), ("Idempotency-Key", "k" * 22)]
    verified = verify_request(method=method, url=URL, headers=headers, body=None, keys=KEYS)
    assert "idempotency-key" not in verified.covered_components


def test_a_question_mark_in_the_fragment_is_no_query() -> None:
    """SIG-17: @query is required when the target has a query; a ``?`` after ``#`` is not one."""
    url = f"{URL}#section?x"
    verified = verify_request(method="GET", url=url, headers=_signed(url=url), body=None, keys=KEYS)
    assert verified.covered_components == ("@method", "@authority", "@path")


def test_a_query_must_be_covered() -> None:
    """SIG-17: a signature made for the bare path does not verify once a query is added."""
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url=f"{URL}?page=2", headers=_signed(), body=None, keys=KEYS)
    assert caught.value.detail["missing_components"] == ["@query"]


def test_ucp_agent_coverage_is_required_exactly_when_the_header_is_present() -> None:
    """SIG-17: with UCP-Agent signed it is covered; the full required list is the spec's, in order (SIG-16)."""
    agent = [("UCP-Agent", format_ucp_agent("https://platform.example/.well-known/ucp"))]
    verified = verify_request(method="GET", url=URL, headers=_signed(headers=agent), body=None, keys=KEYS)
    assert verified.covered_components == ("@method", "@authority", "@path", "ucp-agent")


def test_an_empty_body_needs_no_digest() -> None:
    """SIG-19: coverage of content-digest/content-type is for a request *with* a body; b"" is none."""
    headers = [("Idempotency-Key", "k" * 22)]
    signed = [*headers, *sign_request(method="POST", url=URL, headers=headers, body=None, key=KEY).items()]
    verified = verify_request(method="POST", url=URL, headers=signed, body=b"", keys=KEYS)
    assert "content-digest" not in verified.covered_components


def test_a_response_body_must_be_covered_by_digest_and_type() -> None:
    """SIG-21: a status-only response signature does not verify once the response has a body."""
    signed = sign_response(status=200, headers=[], body=None, key=KEY)
    headers = [*signed.items(), ("Content-Type", "application/json")]
    with pytest.raises(SignatureError) as caught:
        verify_response(status=200, headers=headers, body=b"{}", keys=KEYS)
    assert caught.value.detail["missing_components"] == ["content-digest", "content-type"]
    assert verify_response(
        status=204, headers=list(sign_response(status=204, headers=[], body=b"", key=KEY).items()), body=b"", keys=KEYS
    ).covered_components == ("@status",)
