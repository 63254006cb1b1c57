"""Every secret file a connector process needs, created when missing: one function for `keys generate` and `dev`.

All are 0600 files in one keys directory: the ES256 signing keyring, the
payload-codec key (worker/codec.py), the redaction salt and the cursor secret
(storage/config.py). Creating only what is absent makes the call safe to run
at every start (an init container, ``dev``): existing keys are never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from storage.config import load_secret
from ucp_connector.keyfiles import create_signing_keyring, load_signing_keyring
from worker.codec import KEY_FILE_NAME as PAYLOAD_KEY_FILE
from worker.codec import PayloadKeyring

SIGNING_FILE: Final = "connector-signing.json"
REDACTION_SALT_FILE: Final = "redaction-salt.json"
CURSOR_SECRET_FILE: Final = "cursor-secret.json"  # noqa: S105 -- a file name, not a secret


@dataclass(frozen=True)
class KeyFileStatus:
    what: str
    path: Path
    created: bool
    note: str = ""


def ensure_connector_keys(keys_dir: Path) -> list[KeyFileStatus]:
    """Create each missing key file; report what exists and what was created (never the keys themselves)."""
    statuses = []
    signing = keys_dir / SIGNING_FILE
    created = not signing.exists()
    store = create_signing_keyring(signing) if created else load_signing_keyring(signing)
    statuses.append(KeyFileStatus("signing key", signing, created, f"kid {store.active.kid}"))
    payload = keys_dir / PAYLOAD_KEY_FILE
    created = not payload.exists()
    keyring = PayloadKeyring.load_or_create(payload)
    statuses.append(KeyFileStatus("payload-codec key", payload, created, f"kid {keyring.active}"))
    for name, what in ((REDACTION_SALT_FILE, "redaction salt"), (CURSOR_SECRET_FILE, "cursor secret")):
        path = keys_dir / name
        created = not path.exists()
        load_secret(path, create=True)
        statuses.append(KeyFileStatus(what, path, created))
    return statuses
