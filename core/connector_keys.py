"""Every secret file a connector process needs, created when missing: one function for `keys generate` and `dev`.

All are 0600 files named by the settings (``<keys_dir>/...`` unless configured
otherwise): the ES256 signing keyring, the payload-codec key
(core/temporal/codec.py), the redaction salt and the cursor secret. Creating
only what is absent makes the call safe to run at every start (an init
container, ``dev``): existing keys are never replaced. Because the paths come
from the same :class:`~core.settings.Settings` the API and the worker read,
``keys generate`` writes exactly the files they will look for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contracts import KeyStore
from core.keyfiles import create_signing_keyring, load_secret, load_signing_keyring
from core.settings import PAYLOAD_KEY_FILE, SIGNING_FILE, Settings
from core.temporal.codec import PayloadKeyring


@dataclass(frozen=True)
class KeyFileStatus:
    what: str
    path: Path
    created: bool
    note: str = ""


def signing_keys(settings: Settings) -> KeyStore:
    """The connector's signing keyring (active key and the still-published earlier ones)."""
    return load_signing_keyring(settings.key_file(SIGNING_FILE))


def ensure_connector_keys(settings: Settings) -> list[KeyFileStatus]:
    """Create each missing key file; report what exists and what was created (never the keys themselves)."""
    statuses = []
    signing = settings.key_file(SIGNING_FILE)
    created = not signing.exists()
    store = create_signing_keyring(signing) if created else load_signing_keyring(signing)
    statuses.append(KeyFileStatus("signing key", signing, created, f"kid {store.active.kid}"))
    payload = settings.key_file(PAYLOAD_KEY_FILE)
    created = not payload.exists()
    keyring = PayloadKeyring.load_or_create(payload)
    statuses.append(KeyFileStatus("payload-codec key", payload, created, f"kid {keyring.active}"))
    secrets = ((settings.redaction_salt_file, "redaction salt"), (settings.cursor_secret_file, "cursor secret"))
    for path, what in secrets:
        created = not path.exists()
        load_secret(path, create=True)
        statuses.append(KeyFileStatus(what, path, created))
    return statuses
