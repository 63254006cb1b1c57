"""``ucp-connector keys``: generate, show, rotate and retire the connector's keys; issue private TLS certificates.

``keys generate`` creates every secret file a connector process needs, each
only if absent (so an init container can run it at every start): the ES256
signing keyring, the payload-codec key (core/temporal/codec.py), the redaction salt
and the cursor secret (core/settings.py). All are 0600 files in KEYS_DIR;
every path comes from the same settings the API and the worker read
(``UCP_CONFIG``, ``UCP_KEYS_DIR``, ``UCP_STATE_DIR``), or ``--keys-dir``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.connector_keys import ensure_connector_keys
from core.keyfiles import load_signing_keyring, retire_signing_key, rotate_signing_keyring
from core.settings import SIGNING_FILE, Settings, load_settings
from ucp_connector.tls import issue_server_certificates

app = typer.Typer(help="Manage the connector's ES256 signing keys (private keys stay in 0600 files).")
console = Console()

KeysDir = Annotated[
    Path | None,
    typer.Option("--keys-dir", help="Directory of the 0600 key files (default: the configured keys_dir)."),
]


def _settings(keys_dir: Path | None) -> Settings:
    """The settings every process reads, so the files written here are the ones the API and worker open."""
    return load_settings(keys_dir=keys_dir)


@app.command()
def generate(keys_dir: KeysDir = None) -> None:
    """Create every missing key file (signing key, payload-codec key, redaction salt, cursor secret); idempotent."""
    for status in ensure_connector_keys(_settings(keys_dir)):
        state = "created" if status.created else "already present"
        note = f" {status.note}" if status.note else ""
        console.print(f"{status.what} {state}{note} ({status.path}, mode 0600)", highlight=False)


@app.command()
def show(keys_dir: KeysDir = None) -> None:
    """Print the public JWK Set (what the profile's signing_keys[] publishes). Never prints private keys."""
    store = load_signing_keyring(_settings(keys_dir).key_file(SIGNING_FILE))
    typer.echo(json.dumps({"active_kid": store.active.kid, "keys": store.jwks.signing_keys()}, indent=2))


@app.command()
def rotate(keys_dir: KeysDir = None) -> None:
    """Start signing with a new key; the old one stays published until `keys retire` (keep it >= 7 days)."""
    store = rotate_signing_keyring(_settings(keys_dir).key_file(SIGNING_FILE))
    console.print(
        f"now signing with kid [bold]{store.active.kid}[/]; still published: "
        + ", ".join(key.kid for key in store.jwks.keys if key.kid != store.active.kid)
    )


@app.command()
def retire(kid: str, keys_dir: KeysDir = None) -> None:
    """Stop publishing (and so accepting) an earlier key."""
    retire_signing_key(_settings(keys_dir).key_file(SIGNING_FILE), kid)
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
