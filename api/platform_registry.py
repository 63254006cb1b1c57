"""The platform registry as the verifier sees it: kid -> (platform, key), its key files watched.

The registry maps each ``kid`` to exactly one platform, so the key a
signature verifies with *is* the platform's identity. Two rules beyond that:

* **only what UCP 2026-04-08 allows** for request signatures: EC P-256
  (ES256, required) and P-384 (ES384, optional) — signatures.md "Algorithms".
  A request signed under the kid of a registered Ed25519 (or any other) key
  is ``400 algorithm_unsupported`` before its signature is even checked
  (issue 12.13); the key is logged at load.
  (Merchants of a later release may use Ed25519; that is the merchants layer.)
* **key files are watched** like the connector's signing key
  (``core.keyfiles.ReloadingKeyring``): a platform's ``jwks_file`` is re-read
  when its modification time changes, checked at most once per
  ``check_every`` seconds, so removing a key revokes it without a restart
  (issue 12.6). A file that cannot be read or parsed, or that claims a kid of
  another platform, leaves that platform with *no* keys until it is fixed —
  failing closed, because keeping the last good set would keep a revoked key
  valid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import structlog

from contracts import JwkSet, PublicJwk, UcpError
from contracts.jwk import SignatureAlgorithm
from core.settings import PlatformSettings

log = structlog.get_logger(__name__)

ALLOWED_ALGORITHMS: Final = frozenset({SignatureAlgorithm.ES256, SignatureAlgorithm.ES384})


@dataclass(frozen=True)
class _Loaded:
    keys: tuple[PublicJwk, ...]
    mtime: int | None


def _load(platform_id: str, settings: PlatformSettings) -> _Loaded:
    mtime = settings.jwks_file.stat().st_mtime_ns if settings.jwks_file is not None else None
    jwks: JwkSet = settings.load_keys()
    keys = tuple(key for key in jwks.keys if key.is_signature_key)
    refused = [key.kid for key in keys if key.algorithm not in ALLOWED_ALGORITHMS]
    if refused:
        log.warning("platform_key_algorithm_refused", platform_id=platform_id, kids=refused)
    return _Loaded(keys, mtime)


class PlatformRegistry:
    def __init__(
        self,
        platforms: Mapping[str, PlatformSettings],
        *,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._platforms = dict(platforms)
        self._check_every = check_every
        self._clock = clock
        self._loaded = {platform_id: _load(platform_id, item) for platform_id, item in self._platforms.items()}
        self._checked = clock()
        self._by_kid, conflicts = self._index()
        if conflicts:
            raise ValueError(f"kid {conflicts[0]!r} is registered for two platforms; kids must be unique")

    def _index(self) -> tuple[dict[str, tuple[str, PublicJwk]], list[str]]:
        by_kid: dict[str, tuple[str, PublicJwk]] = {}
        conflicts: list[str] = []
        for platform_id, loaded in self._loaded.items():
            for key in loaded.keys:
                if key.kid in by_kid and by_kid[key.kid][0] != platform_id:
                    conflicts.append(key.kid)
                by_kid[key.kid] = (platform_id, key)
        return by_kid, conflicts

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._checked < self._check_every:
            return
        self._checked = now
        changed = False
        for platform_id, settings in self._platforms.items():
            if settings.jwks_file is None:
                continue
            previous = self._loaded[platform_id]
            try:
                if settings.jwks_file.stat().st_mtime_ns == previous.mtime:
                    continue
                self._loaded[platform_id] = _load(platform_id, settings)
            except (OSError, ValueError, UcpError) as failure:
                log.error("platform_keys_unreadable", platform_id=platform_id, error=type(failure).__name__)
                self._loaded[platform_id] = _Loaded((), None)  # fail closed; retried every check
            changed = True
        if changed:
            by_kid, conflicts = self._index()
            for kid in conflicts:
                log.error("platform_kid_conflict", kid=kid[:128])
                by_kid.pop(kid, None)
            self._by_kid = by_kid

    def find(self, kid: str) -> PublicJwk | None:
        """The registered key (re-reading changed key files first); callers check ``allowed`` before trusting it."""
        self._refresh()
        entry = self._by_kid.get(kid)
        return entry[1] if entry else None

    @staticmethod
    def allowed(key: PublicJwk) -> bool:
        """Whether this release (2026-04-08) allows the key's algorithm for request signatures."""
        return key.algorithm in ALLOWED_ALGORITHMS

    def platform_of(self, kid: str) -> str:
        return self._by_kid[kid][0]

    def settings(self, platform_id: str) -> PlatformSettings:
        return self._platforms[platform_id]


__all__ = ["ALLOWED_ALGORITHMS", "PlatformRegistry"]
