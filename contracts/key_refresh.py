"""Verify a peer's signature; on an unknown ``kid`` re-read its keys once and verify again (SIG-09, SIG-11, SIG-12).

A peer rotates by publishing a new key in its profile and signing with it
(signatures.md "Key Rotation"). A verifier whose cached copy predates the new
key sees ``key_not_found``; it may re-read the profile — once — and try again.
That sequence is the same for every verifier (the connector checking a
merchant's responses and order webhooks, the reference merchant checking a
platform's requests), so it lives here and nowhere else:

* only ``key_not_found`` refreshes: a known key whose signature fails is a
  failure, and re-reading the profile would not change that;
* at most one refresh per message: when the refreshed keys do not know the
  ``kid`` either, the message is refused, it does not refresh again;
* the refreshed keys replace the cached ones, so a key the peer removed stops
  verifying as soon as the profile is re-read (SIG-12);
* how often a profile may be re-read (SIG-09: once per TTL floor, so a hostile
  peer cannot make us hammer it) is the *cache's* rule: ``refresh`` answers
  ``None`` when its budget is spent, and the first failure stands.

Generic over what holds the keys (a cached profile, a known platform, a bare
JWK Set) and over what a successful check returns, so callers keep their own
types: the reference merchant gets back the refreshed platform it verified
with, the connector the verified signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from contracts.error_codes import ErrorCode
from contracts.errors import SignatureError

KeySource = TypeVar("KeySource")
Verified = TypeVar("Verified")


async def verify_with_key_refresh(
    check: Callable[[KeySource], Verified],
    keys: KeySource,
    *,
    refresh: Callable[[], Awaitable[KeySource | None]],
) -> Verified:
    """``check(keys)``; on ``key_not_found``, ``check(await refresh())`` once; else the first error stands.

    ``check`` raises :class:`~contracts.errors.SignatureError` (``verify_request``
    / ``verify_response`` do); the error of the last check made propagates.
    """
    try:
        return check(keys)
    except SignatureError as error:
        if error.code is not ErrorCode.KEY_NOT_FOUND:
            raise
        refreshed = await refresh()
        if refreshed is None:
            raise
        return check(refreshed)
