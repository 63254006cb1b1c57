"""The encrypting payload codec (DESIGN invariant 6): ciphertext only, rotation, tamper detection."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from core.temporal.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, PayloadDecryptionError, PayloadKeyring

SECRET = b'{"payment":{"credential":{"token":"tok_live_4111111111111111"}}}'


def _payload(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_round_trip_and_no_plaintext_in_ciphertext() -> None:
    codec = EncryptionCodec(PayloadKeyring.generate())
    [encrypted] = await codec.encode([_payload()])
    assert encrypted.metadata["encoding"] == ENCODING
    assert b"tok_live" not in encrypted.SerializeToString() and b"4111" not in encrypted.data
    assert await codec.decode([encrypted]) == [_payload()]


async def test_same_plaintext_encrypts_differently() -> None:
    codec = EncryptionCodec(PayloadKeyring.generate())
    first, second = await codec.encode([_payload(), _payload()])
    assert first.data != second.data


async def test_rotation_decrypts_old_payloads_and_encrypts_with_the_new_key() -> None:
    old = PayloadKeyring.generate()
    [written_before] = await EncryptionCodec(old).encode([_payload()])
    rotated = old.rotated()
    codec = EncryptionCodec(rotated)
    [written_after] = await codec.encode([_payload()])
    assert written_after.metadata[KEY_ID_METADATA].decode() == rotated.active != old.active
    assert await codec.decode([written_before, written_after]) == [_payload(), _payload()]


async def test_tampered_or_relabelled_ciphertext_fails() -> None:
    keyring = PayloadKeyring.generate().rotated()
    codec = EncryptionCodec(keyring)
    [encrypted] = await codec.encode([_payload()])
    tampered = Payload(metadata=dict(encrypted.metadata), data=encrypted.data[:-1] + bytes([encrypted.data[-1] ^ 1]))
    with pytest.raises(PayloadDecryptionError, match="authentication"):
        await codec.decode([tampered])
    other_kid = next(kid for kid in keyring.keys if kid != keyring.active)
    relabelled = Payload(metadata={**encrypted.metadata, KEY_ID_METADATA: other_kid.encode()}, data=encrypted.data)
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])
    unknown = Payload(metadata={**encrypted.metadata, KEY_ID_METADATA: b"pk-gone"}, data=encrypted.data)
    with pytest.raises(PayloadDecryptionError, match="pk-gone"):
        await codec.decode([unknown])


async def test_plain_payloads_pass_through_decode() -> None:
    assert await EncryptionCodec(PayloadKeyring.generate()).decode([_payload()]) == [_payload()]


def test_key_file_is_private_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "payload-codec.json"
    keyring = PayloadKeyring.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PayloadKeyring.load_or_create(path).keys == keyring.keys
    os.chmod(path, 0o640)
    with pytest.raises(Exception, match="chmod 600"):
        PayloadKeyring.load(path)
