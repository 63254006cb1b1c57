"""Encrypt every Temporal payload with AES-256-GCM (DESIGN.md invariant 6).

Workflow inputs, update arguments, activity results and query answers can
carry buyer data and payment credentials; Temporal stores them in its history
and shows them in the UI. This codec makes sure the server only ever holds
ciphertext: each payload is serialised, encrypted under the *active* key, and
tagged with the key id in its metadata so that after a rotation old histories
still decrypt with the key that wrote them (decrypt with any known key).

* Algorithm: AES-256-GCM from ``cryptography``; a fresh 96-bit random nonce per
  payload; the key id is bound as associated data, so a ciphertext cannot be
  relabelled to another key.
* Keys live in a 0600 JSON file (``payload-codec.json`` in the keys dir):
  ``{"active": kid, "keys": {kid: base64url(32 bytes)}}``.
* Payloads that are not ours (no ``encryption-key-id``) pass through untouched
  on decode, which keeps the codec safe to enable on a namespace that already
  has plaintext histories.
* **UI text stays readable**: a payload the payload converter marked as UI text
  (summaries, details, the metadata query's answer; ``core.temporal.ui_metadata``)
  is left as it is on encode, so the Temporal UI shows it without a codec
  server. Everything else is encrypted.
* **Bound to its workflow**: Temporal hands the codec a serialization context
  (``WithSerializationContext``); when it names a workflow, the workflow id is
  written beside the key id (``ucp-workflow-id``) and bound as associated data
  too, so the codec server can say *which* workflow an operator decoded and a
  relabelled id fails authentication. Payloads written without a context, or
  before this binding existed, carry no id and decrypt as before (AAD v1).
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from contracts import b64url_decode, b64url_encode
from core.keyfiles import KeyFileError, read_secret_json, write_secret_json
from core.temporal.ui_metadata import is_ui_text

ENCODING: Final = b"binary/encrypted"
KEY_ID_METADATA: Final = "encryption-key-id"
WORKFLOW_ID_METADATA: Final = "ucp-workflow-id"
_NONCE_BYTES: Final = 12


class PayloadDecryptionError(RuntimeError):
    """A payload could not be decrypted: unknown key id or tampered ciphertext."""


class PayloadKeyring:
    """The codec keys: one active key for encryption, every listed key for decryption."""

    def __init__(self, active: str, keys: dict[str, bytes]) -> None:
        if active not in keys:
            raise KeyFileError("the active payload key id is not among the keys")
        if any(len(key) != 32 for key in keys.values()):
            raise KeyFileError("payload keys must be 32 bytes (AES-256)")
        self.active = active
        self.keys = dict(keys)

    @classmethod
    def generate(cls) -> PayloadKeyring:
        kid = f"pk-{secrets.token_hex(4)}"
        return cls(kid, {kid: AESGCM.generate_key(bit_length=256)})

    @classmethod
    def load(cls, path: Path) -> PayloadKeyring:
        document = read_secret_json(path)
        try:
            keys = {str(kid): b64url_decode(str(value)) for kid, value in dict(document["keys"]).items()}
            return cls(str(document["active"]), keys)
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFileError(f"payload key file {path} is malformed") from exc

    @classmethod
    def load_or_create(cls, path: Path) -> PayloadKeyring:
        if path.exists():
            return cls.load(path)
        keyring = cls.generate()
        keyring.save(path)
        return keyring

    def save(self, path: Path) -> None:
        write_secret_json(
            path, {"active": self.active, "keys": {kid: b64url_encode(key) for kid, key in self.keys.items()}}
        )

    def rotated(self) -> PayloadKeyring:
        """A new active key; old keys stay so existing histories keep decrypting."""
        fresh = PayloadKeyring.generate()
        return PayloadKeyring(fresh.active, {**self.keys, **fresh.keys})


def _associated_data(kid: str, workflow_id: str | None) -> bytes:
    if workflow_id is None:
        return b"ucp-connector/temporal-payload/v1:" + kid.encode()
    return b"ucp-connector/temporal-payload/v2:" + kid.encode() + b"\x00" + workflow_id.encode()


def bound_workflow_id(payload: Payload) -> str | None:
    """The workflow an encrypted payload belongs to (authenticated on decrypt), if it was written with one."""
    raw = payload.metadata.get(WORKFLOW_ID_METADATA)
    return raw.decode(errors="replace") if raw is not None else None


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, keyring: PayloadKeyring) -> None:
        self._keyring = keyring
        self._ciphers = {kid: AESGCM(key) for kid, key in keyring.keys.items()}
        self._workflow_id: str | None = None

    def with_context(self, context: SerializationContext) -> Self:
        """A codec that binds what it encrypts to the context's workflow (same keys, same ciphers)."""
        workflow_id = (
            context.workflow_id
            if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext)
            else None
        )
        if workflow_id == self._workflow_id:
            return self
        bound = copy.copy(self)
        bound._workflow_id = workflow_id
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self._keyring.active
        cipher = self._ciphers[kid]
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: kid.encode()}
        if self._workflow_id is not None:
            metadata[WORKFLOW_ID_METADATA] = self._workflow_id.encode()
        associated = _associated_data(kid, self._workflow_id)
        encoded = []
        for payload in payloads:
            if is_ui_text(payload):
                encoded.append(payload)
                continue
            nonce = os.urandom(_NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), associated)
            encoded.append(Payload(metadata=metadata, data=nonce + sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            kid = payload.metadata.get(KEY_ID_METADATA, b"").decode()
            cipher = self._ciphers.get(kid)
            if cipher is None:
                raise PayloadDecryptionError(f"no payload key with id {kid!r}; was the key file rotated away?")
            associated = _associated_data(kid, bound_workflow_id(payload))
            try:
                plain = cipher.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], associated)
            except InvalidTag as exc:
                raise PayloadDecryptionError("payload ciphertext failed authentication") from exc
            decoded.append(Payload.FromString(plain))
        return decoded
