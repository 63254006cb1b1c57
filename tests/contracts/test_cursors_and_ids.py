"""Cursors (DESIGN invariant 9), idempotency identifiers (invariants 2-4) and UCP-Agent.

Covers IDM-02, IDM-03, IDM-12, SIG-23.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import (
    CursorCodec,
    CursorInvalidError,
    ErrorCode,
    IdempotencyKeyError,
    ProfileUrlError,
    b64url_decode,
    b64url_encode,
    checkout_session_id,
    checkout_workflow_id,
    format_ucp_agent,
    outbound_idempotency_key,
    parse_ucp_agent,
    update_id,
    validate_idempotency_key,
    validate_profile_url,
)
from contracts.idempotency import is_session_id

SECRET = b"s" * 32
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def test_cursor_round_trip() -> None:
    codec = CursorCodec(SECRET)
    key = {"created_at": "2026-11-28T10:00:00.000001Z", "id": "cs_abc"}
    cursor = codec.encode(key, scope="sessions:platform-a", now=NOW)
    assert codec.decode(cursor, scope="sessions:platform-a", now=NOW) == key


@given(flip=st.integers(min_value=0, max_value=10_000))
def test_any_tampered_cursor_is_rejected(flip: int) -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode({"created_at": "2026-11-28", "id": "cs_1"}, scope="s", now=NOW)
    position = flip % len(cursor)
    replacement = "A" if cursor[position] != "A" else "B"
    tampered = cursor[:position] + replacement + cursor[position + 1 :]
    with pytest.raises(CursorInvalidError) as caught:
        codec.decode(tampered, scope="s", now=NOW)
    assert caught.value.code is ErrorCode.CURSOR_INVALID
    assert caught.value.reason in {"malformed", "bad_mac"}


def test_forged_payload_with_recomputed_encoding_is_rejected() -> None:
    codec = CursorCodec(SECRET)
    payload, mac = codec.encode({"id": "cs_1"}, scope="s", now=NOW).split(".")
    forged = b64url_decode(payload).replace(b"cs_1", b"cs_9")
    with pytest.raises(CursorInvalidError) as caught:
        codec.decode(f"{b64url_encode(forged)}.{mac}", scope="s", now=NOW)
    assert caught.value.reason == "bad_mac"


def test_foreign_cursors_are_rejected() -> None:
    """Another platform's (or endpoint's) cursor, or one made with another secret, is refused."""
    codec = CursorCodec(SECRET)
    cursor = codec.encode({"id": "cs_1"}, scope="sessions:platform-a", now=NOW)
    with pytest.raises(CursorInvalidError) as caught:
        codec.decode(cursor, scope="sessions:platform-b", now=NOW)
    assert caught.value.reason == "foreign"
    with pytest.raises(CursorInvalidError) as caught:
        CursorCodec(b"t" * 32).decode(cursor, scope="sessions:platform-a", now=NOW)
    assert caught.value.reason == "bad_mac"


def test_expired_cursor_is_rejected() -> None:
    codec = CursorCodec(SECRET, ttl=dt.timedelta(hours=1))
    cursor = codec.encode({"id": "cs_1"}, scope="s", now=NOW)
    codec.decode(cursor, scope="s", now=NOW + dt.timedelta(minutes=59))
    with pytest.raises(CursorInvalidError) as caught:
        codec.decode(cursor, scope="s", now=NOW + dt.timedelta(hours=2))
    assert caught.value.reason == "expired"


@given(st.text(max_size=300))
def test_garbage_cursors_raise_cursor_invalid(text: str) -> None:
    with pytest.raises(CursorInvalidError):
        CursorCodec(SECRET).decode(text, scope="s", now=NOW)


def test_short_cursor_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        CursorCodec(b"short")


@pytest.mark.parametrize(
    "key",
    ["550e8400-e29b-41d4-a716-446655440000", "A" * 22, "abcDEF_-0123456789xyzw", "k" * 255],
)
def test_acceptable_idempotency_keys(key: str) -> None:
    assert validate_idempotency_key(key) == key


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, ErrorCode.IDEMPOTENCY_KEY_MISSING),
        ("", ErrorCode.IDEMPOTENCY_KEY_MISSING),
        ("short", ErrorCode.IDEMPOTENCY_KEY_INVALID),
        ("a" * 21, ErrorCode.IDEMPOTENCY_KEY_INVALID),
        ("a" * 256, ErrorCode.IDEMPOTENCY_KEY_INVALID),
        ("has space in it 1234567890", ErrorCode.IDEMPOTENCY_KEY_INVALID),
        ("ключ-ключ-ключ-ключ-ключ", ErrorCode.IDEMPOTENCY_KEY_INVALID),
    ],
)
def test_rejected_idempotency_keys(key: str | None, code: ErrorCode) -> None:
    """IDM-02: keys must be able to carry 128 bits; missing and malformed are distinct 400s."""
    with pytest.raises(IdempotencyKeyError) as caught:
        validate_idempotency_key(key)
    assert caught.value.code is code and caught.value.http_status == 400


def test_session_ids_are_deterministic_and_platform_scoped() -> None:
    """DESIGN invariant 3: same (platform, key) -> same id; another platform -> another id."""
    key = "550e8400-e29b-41d4-a716-446655440000"
    first = checkout_session_id("platform-a", key)
    assert first == checkout_session_id("platform-a", key)
    assert first != checkout_session_id("platform-b", key)
    assert checkout_session_id("ab", "c" * 22) != checkout_session_id("a", "bc" * 11)
    assert is_session_id(first) and len(first) == 29
    assert checkout_workflow_id("platform-a", first) == f"checkout/platform-a/{first}"
    assert update_id("complete", key) == f"complete:{key}"


def test_outbound_keys_are_deterministic_uuids_unique_per_operation() -> None:
    """Invariant 4 / IDM-03 / IDM-12: a retry reuses the key; each operation gets its own."""
    workflow = "checkout/platform-a/cs_x"
    keys = {outbound_idempotency_key(workflow, seq) for seq in range(1000)}
    assert len(keys) == 1000
    assert outbound_idempotency_key(workflow, 3) == outbound_idempotency_key(workflow, 3)
    assert outbound_idempotency_key(workflow, 3) != outbound_idempotency_key("checkout/platform-b/cs_x", 3)
    parsed = uuid.UUID(outbound_idempotency_key(workflow, 0))
    assert parsed.version == 8


def test_ucp_agent_parsing_follows_the_spec() -> None:
    """SIG-23: dictionary syntax, quoted https profile; business URLs must be /.well-known/ucp."""
    header = format_ucp_agent("https://platform.example/.well-known/ucp")
    assert header == 'profile="https://platform.example/.well-known/ucp"'
    assert parse_ucp_agent(header, business=True) == "https://platform.example/.well-known/ucp"
    assert parse_ucp_agent('profile="https://p.example/agents/a.json";v=1', business=False)
    assert (
        parse_ucp_agent('profile="http://127.0.0.1:8000/.well-known/ucp"', business=True, allow_insecure_loopback=True)
        == "http://127.0.0.1:8000/.well-known/ucp"
    )


@pytest.mark.parametrize(
    ("header", "business", "reason"),
    [
        (None, False, "missing"),
        ("profile=https://a.example/p", False, "not_a_string"),
        ("profile=?1", False, "not_a_string"),
        ('other="https://a.example/p"', False, "missing"),
        ('profile="http://a.example/.well-known/ucp"', False, "scheme"),
        ('profile="http://127.0.0.1/.well-known/ucp"', False, "scheme"),
        ('profile="https://a.example/profile.json"', True, "path"),
        ('profile="https://user:pw@a.example/.well-known/ucp"', False, "malformed"),
        ('profile="https:///nohost"', False, "malformed"),
        ('profile="https://a.example:99999/x"', False, "malformed"),
        ("profile=", False, "malformed"),
        ('profile="é"', False, "malformed"),
        ("x" * 3000, False, "too_large"),
    ],
)
def test_bad_ucp_agent_headers(header: str | None, business: bool, reason: str) -> None:
    with pytest.raises(ProfileUrlError) as caught:
        parse_ucp_agent(header, business=business)
    assert caught.value.code is ErrorCode.INVALID_PROFILE_URL and caught.value.reason == reason


def test_insecure_loopback_is_only_for_loopback() -> None:
    with pytest.raises(ProfileUrlError):
        validate_profile_url("http://merchant.example/.well-known/ucp", business=True, allow_insecure_loopback=True)
    assert validate_profile_url("http://[::1]:9/.well-known/ucp", business=True, allow_insecure_loopback=True)
