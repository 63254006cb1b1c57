"""Decrypt payloads for an operator and hand back only their redacted form (DESIGN invariant 6).

The codec server is the one place where a history's payloads leave the
connector decrypted, so what leaves is what the audit log would keep: each
payload's JSON passes through ``contracts.Redactor`` with the *storage*
redaction salt — payment credentials become ``{"type", "redacted": true}``,
token-named members ``[redacted]``, PAN-like digits ``[pan ****1111]``, buyer
e-mail and phone the same salted hashes as in the audit log, so an operator can
correlate a history with the audit trail without seeing the address.

* ``json/plain`` and ``json/protobuf`` payloads are parsed, redacted and
  re-serialised (``messageType`` kept); ``binary/null`` passes;
* anything else (raw bytes, binary protobuf, an unknown encoding) cannot be
  inspected, so it is replaced by a JSON note saying what was withheld;
* a payload that does not decrypt (a key rotated away, tampering) goes back
  as it came — still ciphertext — and is counted, so the UI shows it encoded
  and the audit line says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from temporalio.api.common.v1 import Payload

from contracts import Redactor
from core.temporal.codec import EncryptionCodec, PayloadDecryptionError, bound_workflow_id

JSON_ENCODINGS = frozenset({b"json/plain", b"json/protobuf"})
PASSED_ENCODINGS = frozenset({b"binary/null"})


@dataclass
class RedactedView:
    payloads: list[Payload] = field(default_factory=list)
    workflow_ids: set[str] = field(default_factory=set)
    undecryptable: int = 0
    withheld: int = 0


async def redacted_view(codec: EncryptionCodec, redactor: Redactor, payloads: Sequence[Payload]) -> RedactedView:
    view = RedactedView()
    for payload in payloads:
        workflow_id = bound_workflow_id(payload)
        try:
            [plain] = await codec.decode([payload])
        except PayloadDecryptionError:
            view.undecryptable += 1
            view.payloads.append(payload)
            continue
        if workflow_id is not None:
            view.workflow_ids.add(workflow_id)
        shown = _redacted(redactor, plain)
        view.withheld += shown is not None and shown.metadata.get("ucp-withheld") is not None
        view.payloads.append(shown if shown is not None else plain)
    return view


def _redacted(redactor: Redactor, payload: Payload) -> Payload | None:
    """The payload as an operator may see it; ``None`` when it may be shown as it is."""
    encoding = payload.metadata.get("encoding", b"")
    if encoding in PASSED_ENCODINGS:
        return None
    if encoding in JSON_ENCODINGS:
        try:
            value = json.loads(payload.data)
        except ValueError:
            return _withheld(encoding)
        metadata = {"encoding": encoding}
        if "messageType" in payload.metadata:
            metadata["messageType"] = payload.metadata["messageType"]
        data = json.dumps(redactor.redact(value), separators=(",", ":"), ensure_ascii=False).encode()
        return Payload(metadata=metadata, data=data)
    return _withheld(encoding)


def _withheld(encoding: bytes) -> Payload:
    note = f"[withheld: a {encoding.decode(errors='replace')[:64] or 'raw'} payload cannot be redacted]"
    return Payload(metadata={"encoding": b"json/plain", "ucp-withheld": b"1"}, data=json.dumps(note).encode())
