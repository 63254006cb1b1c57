"""Private key files: 0600 files in a 0700 directory, refused when readable by others.

Private keys never enter workflow history, logs or the repository (DESIGN.md
invariant 6): activities and the API load them from these files (or a secret
store mounted as files). Like ssh, we refuse a key file that group or others
can read, because a key that leaked on disk is not an identity any more.
Writes are atomic (temp file + rename) so a crash never leaves half a key.

The signing keyring file holds the active private key and the *public* halves
of earlier keys that stay published during rotation (signatures.md "Key
Rotation": keep old keys >= 7 days, then retire them).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from contracts import KeyFormatError, KeyStore, PublicJwk, SigningKey, b64url_decode, b64url_encode
from contracts.vectors.regenerate import TEST_KID


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable, too permissive or not a key."""


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o700)
    return path


def write_file_atomically(path: Path, data: bytes, mode: int) -> None:
    """Readers see the old file or the whole new one, never a torn write; created with ``mode`` from the start."""
    temporary = path.with_name(f".{path.name}.tmp")
    if temporary.exists():
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_secret_json(path: Path, document: dict[str, Any]) -> None:
    ensure_private_dir(path.parent)
    write_file_atomically(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"), 0o600)


def read_secret_json(path: Path) -> dict[str, Any]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} does not exist (run `ucp-connector keys generate`)") from exc
    if mode & 0o077:
        raise KeyFileError(f"key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"key file {path} is not readable JSON") from exc
    if not isinstance(document, dict):
        raise KeyFileError(f"key file {path} must hold a JSON object")
    return document


def _checked(key: SigningKey, path: Path) -> SigningKey:
    if key.kid == TEST_KID:
        raise KeyFileError(f"{path} holds the published test-vector key; generate a real key instead")
    return key


def create_signing_keyring(path: Path, kid: str | None = None) -> KeyStore:
    key = SigningKey.generate(kid)
    write_secret_json(path, {"active": key.to_private_jwk(), "previous": []})
    return KeyStore(key)


def load_signing_keyring(path: Path) -> KeyStore:
    document = read_secret_json(path)
    try:
        active = _checked(SigningKey.from_private_jwk(document.get("active")), path)
        previous = [PublicJwk.from_dict(item) for item in document.get("previous", [])]
    except KeyFormatError as exc:
        raise KeyFileError(f"key file {path}: {exc.content}") from exc
    return KeyStore(active, previous)


def rotate_signing_keyring(path: Path) -> KeyStore:
    """New active key; every earlier key stays published until retired."""
    current = load_signing_keyring(path)
    new_key = SigningKey.generate()
    rotated = current.rotate(new_key)
    previous = [key.to_dict() for key in rotated.jwks.keys if key.kid != new_key.kid]
    write_secret_json(path, {"active": new_key.to_private_jwk(), "previous": previous})
    return rotated


def retire_signing_key(path: Path, kid: str) -> KeyStore:
    document = read_secret_json(path)
    current = load_signing_keyring(path)
    if current.find(kid) is None:
        raise KeyFileError(f"no published key with kid {kid!r} in {path}")
    try:
        retired = current.retire(kid)
    except KeyFormatError as exc:
        raise KeyFileError(exc.content) from exc
    document["previous"] = [item for item in document.get("previous", []) if item.get("kid") != kid]
    write_secret_json(path, document)
    return retired


class ReloadingKeyring:
    """The signing keyring, re-read when its file changes, so ``keys rotate`` needs no restart.

    Checks the file's modification time at most once a second; a file that
    became unreadable keeps the last good keys (and is logged by the caller's
    next failure), so a botched edit never takes signing down.
    """

    def __init__(self, path: Path, *, check_every: float = 1.0) -> None:
        import time

        self._path = path
        self._check_every = check_every
        self._clock = time.monotonic
        self._keys = load_signing_keyring(path)
        self._mtime = path.stat().st_mtime_ns
        self._checked = self._clock()

    def __call__(self) -> KeyStore:
        now = self._clock()
        if now - self._checked >= self._check_every:
            self._checked = now
            try:
                mtime = self._path.stat().st_mtime_ns
                if mtime != self._mtime:
                    self._keys, self._mtime = load_signing_keyring(self._path), mtime
            except (OSError, KeyFileError):
                pass
        return self._keys


SECRET_BYTES = 32


def load_secret(path: Path, *, inline: str | None = None, create: bool = False) -> bytes:
    """A shared secret (redaction salt, cursor secret) from configuration (base64url) or its 0600 file.

    Production never generates one implicitly: every replica must hold the same
    bytes (hashes correlate, a cursor issued by one API replica is accepted by
    the next), so ``create`` is for ``keys generate`` and ``dev`` only.
    """
    if inline is not None:
        value = b64url_decode(inline)
    else:
        if create and not path.exists():
            write_secret_json(path, {"secret": b64url_encode(secrets.token_bytes(SECRET_BYTES))})
        document = read_secret_json(path)
        encoded = document.get("secret")
        if not isinstance(encoded, str):
            raise KeyFileError(f"secret file {path} must hold {{'secret': <base64url>}}")
        value = b64url_decode(encoded)
    if len(value) < SECRET_BYTES:
        raise KeyFileError(f"secret {path.name} must be at least {SECRET_BYTES} bytes")
    return value
