"""``ucp-connector keys``: generate, show, rotate and retire the connector's signing keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ucp_connector.keyfiles import (
    create_signing_keyring,
    load_signing_keyring,
    retire_signing_key,
    rotate_signing_keyring,
)

app = typer.Typer(help="Manage the connector's ES256 signing keys (private keys stay in 0600 files).")
console = Console()

KeysDir = Annotated[Path, typer.Option("--keys-dir", envvar="UCP_KEYS_DIR", help="Directory of the 0600 key files.")]
DEFAULT_KEYS_DIR = Path(".ucp/keys")
SIGNING_FILE = "connector-signing.json"


@app.command()
def generate(keys_dir: KeysDir = DEFAULT_KEYS_DIR) -> None:
    """Create the connector signing key if it does not exist yet (idempotent)."""
    path = keys_dir / SIGNING_FILE
    if path.exists():
        store = load_signing_keyring(path)
        console.print(f"signing key already present: kid [bold]{store.active.kid}[/] ({path})")
        return
    store = create_signing_keyring(path)
    console.print(f"created signing key kid [bold]{store.active.kid}[/] in {path} (mode 0600)")


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
