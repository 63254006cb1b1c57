"""The files of the embedded dev stack, and how ``dev`` prepares them before anything starts.

Everything lives under one state directory (default ``.ucp``), so a restart
finds the same keys, the same Temporal history and the same databases, and
sessions continue where they were:

=============================  ==============================================================
``keys/``  (0700)              connector signing key, payload-codec key, redaction salt, cursor
                               secret, the demo platform's key; all 0600, generated when absent
``merchant-keys/`` (0700)      the reference merchant's signing key
``dev/ucp-connector.toml``     the connector configuration ``dev`` writes for its children
``dev/merchant.toml``          the reference merchant's configuration
``temporal.db``                the Temporal dev server's state
``connector.db``               audit log and session index (SQLite, migrated at start)
``merchant.db``                the reference merchant's state
``logs/``                      one log file per child process (``codec-server.log``: who decoded what)
=============================  ==============================================================

No key is ever printed or placed in the configuration: the configuration
names key *files*. The demo platform is registered with its public key only.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from contracts import JwkSet, SigningKey
from core.connector_keys import ensure_connector_keys, signing_keys
from core.keyfiles import ensure_private_dir, read_secret_json, write_secret_json
from core.settings import DATABASE_FILE, Settings
from merchants.platform_profile import profile_url
from merchants.releases import CANONICAL_VERSION
from storage import migrate
from storage.database import make_engine

DEMO_PLATFORM = "demo"
DEMO_MERCHANT = "reference"


@dataclass(frozen=True)
class DevPorts:
    host: str = "127.0.0.1"
    temporal: int = 7233
    temporal_ui: int = 8233
    api: int = 8000
    merchant: int = 8181
    codec: int = 8234


@dataclass(frozen=True)
class DevLayout:
    state_dir: Path

    @property
    def keys_dir(self) -> Path:
        return self.state_dir / "keys"

    @property
    def merchant_keys_dir(self) -> Path:
        return self.state_dir / "merchant-keys"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "dev" / "ucp-connector.toml"

    @property
    def merchant_config_file(self) -> Path:
        return self.state_dir / "dev" / "merchant.toml"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def stack_file(self) -> Path:
        """Where ``dev`` records the URLs it serves, so ``demo`` finds them without options."""
        return self.state_dir / "dev" / "stack.json"

    def write_stack(self, ports: DevPorts) -> None:
        urls = {"api_url": api_url(ports), "temporal_ui_url": temporal_ui_url(ports), "codec_url": codec_url(ports)}
        self.stack_file.write_text(json.dumps(urls, indent=2) + "\n", encoding="utf-8")

    def read_stack(self) -> dict[str, str]:
        try:
            document = json.loads(self.stack_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(key): str(value) for key, value in document.items()} if isinstance(document, dict) else {}

    @property
    def demo_platform_key_file(self) -> Path:
        return self.keys_dir / "demo-platform.json"

    @property
    def demo_platform_jwks_file(self) -> Path:
        return self.state_dir / "dev" / "demo-platform.jwks.json"

    @property
    def database_file(self) -> Path:
        return self.state_dir / DATABASE_FILE

    def settings(self) -> Settings:
        """The settings the children derive from the written configuration (no environment, no other file)."""
        return Settings.model_validate({"state_dir": self.state_dir.resolve()})

    def demo_platform_key(self) -> SigningKey:
        return SigningKey.from_private_jwk(read_secret_json(self.demo_platform_key_file))


def prepare(layout: DevLayout, ports: DevPorts, merchant_version: str = CANONICAL_VERSION) -> str:
    """Create missing keys, write the children's configuration, migrate the database; return the signing kid.

    ``merchant_version`` is the UCP release the reference merchant speaks (``dev --merchant-version``).
    """
    ensure_private_dir(layout.state_dir)
    ensure_private_dir(layout.keys_dir)
    ensure_private_dir(layout.merchant_keys_dir)
    (layout.state_dir / "dev").mkdir(parents=True, exist_ok=True)
    settings = layout.settings()
    ensure_connector_keys(settings)
    keys = signing_keys(settings)
    if not layout.demo_platform_key_file.exists():
        write_secret_json(layout.demo_platform_key_file, SigningKey.generate(kid="demo-platform-1").to_private_jwk())
    demo_public = JwkSet((layout.demo_platform_key().public_jwk,)).to_dict()
    layout.demo_platform_jwks_file.write_text(json.dumps(demo_public, indent=2) + "\n", encoding="utf-8")
    _write_connector_config(layout, ports, merchant_version)
    _write_merchant_config(layout, merchant_version)
    layout.write_stack(ports)
    asyncio.run(_migrate(settings))
    return keys.active.kid


def api_url(ports: DevPorts) -> str:
    return f"http://{ports.host}:{ports.api}"


def temporal_ui_url(ports: DevPorts) -> str:
    return f"http://{ports.host}:{ports.temporal_ui}"


def merchant_url(ports: DevPorts) -> str:
    return f"http://{ports.host}:{ports.merchant}"


CODEC_HOST = "127.0.0.1"  # whatever --host says: the dev codec server has no authentication (loopback only)


def codec_url(ports: DevPorts) -> str:
    return f"http://{CODEC_HOST}:{ports.codec}"


def temporal_ui_origins(ports: DevPorts) -> list[str]:
    """The origins a browser shows the dev Temporal UI under (both loopback spellings on 127.0.0.1)."""
    origins = [temporal_ui_url(ports)]
    if ports.host == "127.0.0.1":
        origins.append(f"http://localhost:{ports.temporal_ui}")
    return origins


def _write_connector_config(layout: DevLayout, ports: DevPorts, merchant_version: str = CANONICAL_VERSION) -> None:
    # Keys, secrets and the database derive from state_dir, exactly as for `ucp-connector audit verify` & co.
    text = f"""# Written by `ucp-connector dev` at every start; edit the options of `dev`, not this file.
state_dir = {json.dumps(str(layout.state_dir.resolve()))}
public_base_url = "{api_url(ports)}"

[temporal]
address = "{ports.host}:{ports.temporal}"
ui_url = "{temporal_ui_url(ports)}"

[merchants.{DEMO_MERCHANT}]
profile_url = "{merchant_url(ports)}/.well-known/ucp"
allow_insecure_loopback = true
{_release_policy(merchant_version)}
[platforms.{DEMO_PLATFORM}]
jwks_file = {json.dumps(str(layout.demo_platform_jwks_file.resolve()))}
allowed_merchants = ["{DEMO_MERCHANT}"]
allow_insecure_loopback = true

[platforms.{DEMO_PLATFORM}.policy]
allowed_currencies = ["USD"]
max_total = 100000

# The Temporal UI decodes through it (redacted); no authentication, so loopback only.
[codec_server]
host = "{CODEC_HOST}"
port = {ports.codec}
allowed_origins = {json.dumps(temporal_ui_origins(ports))}
auth = "none"
"""
    layout.config_file.write_text(text, encoding="utf-8")


def _release_policy(merchant_version: str) -> str:
    """What the connector needs to know of a 2026-01-11 merchant: it signs no answers, its creates need a currency."""
    if merchant_version != "2026-01-11":
        return ""
    return 'response_signatures = "when_present"  # 2026-01-11 signs no answers\ndefault_currency = "USD"\n'


def _write_merchant_config(layout: DevLayout, merchant_version: str = CANONICAL_VERSION) -> None:
    # The demo shows order webhooks: the merchant ships a few seconds after the order and delivers next.
    text = "# Written by `ucp-connector dev`.\nauto_ship_after_seconds = 3\nauto_deliver_after_seconds = 6\n"
    if merchant_version != CANONICAL_VERSION:
        text += f'ucp_version = "{merchant_version}"\n'
    if merchant_version == "2026-01-11":
        text += "sign_webhooks_2026_01_11 = true  # the connector accepts signed webhooks only (order.md)\n"
    layout.merchant_config_file.write_text(text, encoding="utf-8")


def connector_profile_for_merchant(ports: DevPorts) -> str:
    return profile_url(api_url(ports), DEMO_MERCHANT)


async def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
