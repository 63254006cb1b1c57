"""``verify_with_key_refresh``: verify, refresh once on an unknown kid, verify again (SIG-09, SIG-11, SIG-12).

Real signatures (``sign_response``/``verify_response``); the refresh is a
counting callable standing in for a profile cache, so each test can say how
many refreshes a message caused. The merchants/ and reference merchant tests
exercise the same helper with real caches over HTTP.
"""

from __future__ import annotations

import pytest

from contracts import (
    ErrorCode,
    JwkSet,
    SignatureError,
    SigningKey,
    VerifiedSignature,
    sign_response,
    verify_response,
    verify_with_key_refresh,
)

BODY = b'{"id":"chk_1"}'


class Refresher:
    """Answers the keys a peer publishes *now*, or None when the budget is spent; counts calls."""

    def __init__(self, published: JwkSet | None) -> None:
        self.published = published
        self.calls = 0

    async def __call__(self) -> JwkSet | None:
        self.calls += 1
        return self.published


def _keys(*keys: SigningKey) -> JwkSet:
    return JwkSet(tuple(key.public_jwk for key in keys))


def _signed_by(key: SigningKey) -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json")]
    headers.extend(sign_response(status=200, headers=headers, body=BODY, key=key).items())
    return headers


async def _verify(headers: list[tuple[str, str]], cached: JwkSet, refresh: Refresher, body: bytes = BODY) -> str:
    def check(keys: JwkSet) -> VerifiedSignature:
        return verify_response(status=200, headers=headers, body=body, keys=keys)

    verified = await verify_with_key_refresh(check, cached, refresh=refresh)
    return verified.key.kid


async def test_a_known_kid_verifies_without_a_refresh() -> None:
    old = SigningKey.generate()
    refresh = Refresher(_keys(old))
    assert await _verify(_signed_by(old), _keys(old), refresh) == old.kid
    assert refresh.calls == 0


async def test_an_unknown_kid_refreshes_once_and_verifies_with_the_new_keys() -> None:
    """SIG-11: the rotated-in key is picked up by exactly one refresh."""
    old, new = SigningKey.generate(), SigningKey.generate()
    refresh = Refresher(_keys(old, new))
    assert await _verify(_signed_by(new), _keys(old), refresh) == new.kid
    assert refresh.calls == 1


async def test_refreshed_keys_that_still_lack_the_kid_refuse_without_refreshing_again() -> None:
    """SIG-09: at most one refresh per message, however often the kid stays unknown."""
    old, stranger = SigningKey.generate(), SigningKey.generate()
    refresh = Refresher(_keys(old))
    with pytest.raises(SignatureError) as refused:
        await _verify(_signed_by(stranger), _keys(old), refresh)
    assert refused.value.code is ErrorCode.KEY_NOT_FOUND and refresh.calls == 1


async def test_a_spent_refresh_budget_leaves_the_first_error_standing() -> None:
    """SIG-09: the cache says no (None): no second verification, key_not_found as first seen."""
    old, new = SigningKey.generate(), SigningKey.generate()
    refresh = Refresher(None)
    with pytest.raises(SignatureError) as refused:
        await _verify(_signed_by(new), _keys(old), refresh)
    assert refused.value.code is ErrorCode.KEY_NOT_FOUND and refresh.calls == 1
    assert refused.value.detail["kid"] == new.kid


async def test_a_removed_key_stops_verifying_once_the_keys_are_re_read() -> None:
    """SIG-12: the refreshed keys replace the cached ones; a kid the peer removed is refused after the refresh."""
    removed, replacement = SigningKey.generate(), SigningKey.generate()
    refresh = Refresher(_keys(replacement))
    assert await _verify(_signed_by(replacement), _keys(removed), refresh) == replacement.kid
    current = refresh.published
    assert current is not None
    with pytest.raises(SignatureError) as refused:
        await _verify(_signed_by(removed), current, Refresher(current))
    assert refused.value.code is ErrorCode.KEY_NOT_FOUND


@pytest.mark.parametrize("failure", ["tampered", "unsigned"])
async def test_failures_other_than_an_unknown_kid_never_refresh(failure: str) -> None:
    """A known key whose signature fails, or no signature at all: re-reading the profile cannot help."""
    key = SigningKey.generate()
    refresh = Refresher(_keys(key))
    headers = _signed_by(key) if failure == "tampered" else [("Content-Type", "application/json")]
    with pytest.raises(SignatureError) as refused:
        await _verify(headers, _keys(key), refresh, body=BODY + b" ")
    expected = ErrorCode.DIGEST_MISMATCH if failure == "tampered" else ErrorCode.SIGNATURE_MISSING
    assert refused.value.code is expected and refresh.calls == 0


async def test_the_checks_result_is_returned_whole_so_callers_keep_the_refreshed_source() -> None:
    """The reference merchant needs the refreshed platform (version, capabilities), not only the signature."""
    old, new = SigningKey.generate(), SigningKey.generate()
    headers = _signed_by(new)

    def check(source: tuple[str, JwkSet]) -> str:
        verify_response(status=200, headers=headers, body=BODY, keys=source[1])
        return source[0]

    async def refresh() -> tuple[str, JwkSet]:
        return ("refreshed", _keys(old, new))

    assert await verify_with_key_refresh(check, ("cached", _keys(old)), refresh=refresh) == "refreshed"
