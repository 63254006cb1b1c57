"""``ucp-connector keys``: generate, show, rotate and retire the connector's keys; issue private TLS certificates.

``keys generate`` creates every secret file a connector process needs, each
only if absent (so an init container can run it at every start): the ES256
signing keyring, the payload-codec key (worker/codec.py), the redaction salt
and the cursor secret (storage/config.py). All are 0600 files in KEYS_DIR;
the storage settings ``redaction_salt_file``/``cursor_secret_file`` must name
the two latter files (they do by default: ``.ucp/keys/...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storage.config import load_secret
from ucp_connector.keyfiles import (
    create_signing_keyring,
    load_signing_keyring,
    retire_signing_key,
    rotate_signing_keyring,
)
from ucp_connector.tls import issue_server_certificates
from worker.codec import KEY_FILE_NAME as PAYLOAD_KEY_FILE
from worker.codec import PayloadKeyring

app = typer.Typer(help="Manage the connector's ES256 signing keys (private keys stay in 0600 files).")
console = Console()

KeysDir = Annotated[Path, typer.Option("--keys-dir", envvar="UCP_KEYS_DIR", help="Directory of the 0600 key files.")]
DEFAULT_KEYS_DIR = Path(".ucp/keys")
SIGNING_FILE = "connector-signing.json"
REDACTION_SALT_FILE = "redaction-salt.json"
CURSOR_SECRET_FILE = "cursor-secret.json"  # noqa: S105 -- a file name, not a secret


@app.command()
def generate(keys_dir: KeysDir = DEFAULT_KEYS_DIR) -> None:
    """Create every missing key file (signing key, payload-codec key, redaction salt, cursor secret); idempotent."""
    path = keys_dir / SIGNING_FILE
    if path.exists():
        store = load_signing_keyring(path)
        console.print(f"signing key already present: kid [bold]{store.active.kid}[/] ({path})")
    else:
        store = create_signing_keyring(path)
        console.print(f"created signing key kid [bold]{store.active.kid}[/] in {path} (mode 0600)")
    payload = keys_dir / PAYLOAD_KEY_FILE
    existed = payload.exists()
    keyring = PayloadKeyring.load_or_create(payload)
    console.print(f"payload-codec key {'already present' if existed else 'created'}: {keyring.active} ({payload})")
    for name, what in ((REDACTION_SALT_FILE, "redaction salt"), (CURSOR_SECRET_FILE, "cursor secret")):
        secret = keys_dir / name
        existed = secret.exists()
        load_secret(secret, create=True)
        console.print(f"{what} {'already present' if existed else 'created'} ({secret})")


@app.command()
def show(keys_dir: KeysDir = DEFAULT_KEYS_DIR) -> None:
    """Print the public JWK Set (what the profile's signing_keys[] publishes). Never prints private keys."""
    store = load_signing_keyring(keys_dir / SIGNING_FILE)
    typer.echo(json.dumps({"active_kid": store.active.kid, "keys": store.jwks.signing_keys()}, indent=2))


@app.command()
def rotate(keys_dir: KeysDir = DEFAULT_KEYS_DIR) -> None:
    """Start signing with a new key; the old one stays published until `keys retire` (keep it >= 7 days)."""
    store = rotate_signing_keyring(keys_dir / SIGNING_FILE)
    console.print(
        f"now signing with kid [bold]{store.active.kid}[/]; still published: "
        + ", ".join(key.kid for key in store.jwks.keys if key.kid != store.active.kid)
    )


@app.command()
def retire(kid: str, keys_dir: KeysDir = DEFAULT_KEYS_DIR) -> None:
    """Stop publishing (and so accepting) an earlier key."""
    retire_signing_key(keys_dir / SIGNING_FILE, kid)
    console.print(f"retired kid [bold]{kid}[/]")


@app.command()
def tls(
    host: Annotated[list[str], typer.Option("--host", help="DNS name (or IP) to issue a server certificate for.")],
    tls_dir: Annotated[
        Path, typer.Option("--tls-dir", envvar="UCP_TLS_DIR", help="Directory of the CA and the certificates.")
    ] = Path(".ucp/tls"),
) -> None:
    """Issue server certificates from a private CA made on first use (for a closed deployment, e.g. compose)."""
    for issued in issue_server_certificates(tls_dir, host):
        state = "created" if issued.created else "already present"
        console.print(f"{issued.host}: {state} ({issued.cert_file}, key {issued.key_file} mode 0600)")
    console.print(f"trust anchor: {tls_dir / 'ca.pem'}")
