"""One typed settings object for every process and command (API, worker, CLI), from env and a TOML file.

Sources, strongest first: a command's own options (passed as keyword
arguments, so ``migrate --database-url`` overrides the very field the API
reads), environment variables (``UCP_`` prefix, ``__`` for nesting, e.g.
``UCP_TEMPORAL__ADDRESS``, ``UCP_STORAGE__DATABASE_URL``), then the TOML file
named by ``UCP_CONFIG`` (default ``ucp-connector.toml`` in the working
directory, if it exists; a ``UCP_CONFIG`` that names a missing file is an
error), then defaults that suit ``ucp-connector dev``.

Every path a process needs derives from ``state_dir`` and ``keys_dir`` unless
set explicitly — the audit database (``<state_dir>/connector.db``), the key
files, the redaction salt and the cursor secret (``<keys_dir>/...``) — so the
API, the worker, ``migrate``, ``audit verify``, ``session show`` and ``keys``
cannot disagree about where things are.

The **platform registry** is the trust anchor of the API (DESIGN.md invariant
1): a platform is identified by the keys configured *here*, inline or in a
file; keys are never fetched from a URL that a request names (no SSRF). The
**merchant registry** names each merchant's profile URL; plain ``http`` is
accepted only for loopback and only with ``allow_insecure_loopback = true``
(DESIGN.md "Merchants"). Each platform carries its spend policy (DESIGN.md
"Policy"), which the checkout workflow enforces before ``complete``.

Example ``ucp-connector.toml``::

    public_base_url = "https://connector.example"

    [platforms.acme-agent]
    jwks_file = "/etc/ucp/platforms/acme-agent.jwks.json"
    webhook_url = "https://acme.example/ucp/webhooks"
    allowed_merchants = ["shoes"]
    [platforms.acme-agent.policy]
    allowed_currencies = ["USD", "EUR"]
    max_total = 50000                   # minor units
    [platforms.acme-agent.policy.merchants.shoes]
    max_total = 20000

    [merchants.shoes]
    profile_url = "https://shoes.example/.well-known/ucp"
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from contracts import JwkSet, UcpError
from contracts.idempotency import PLATFORM_ID_PATTERN
from contracts.ucp_agent import is_loopback_host
from core.codec_server_settings import CodecServerSettings
from core.merchant_settings import (
    ApiKeyAuth,
    Currency,
    MerchantAuth,
    MerchantSettings,
    MutualTls,
    OAuth2ClientCredentials,
    check_url,
)

CONFIG_ENV: Final = "UCP_CONFIG"
DEFAULT_CONFIG_FILE: Final = Path("ucp-connector.toml")
DEFAULT_SERVICE_ROLE: Final = "ucp_service"
# The files of one keys directory (``ucp-connector keys generate`` creates them, 0600 each).
SIGNING_FILE: Final = "connector-signing.json"
PAYLOAD_KEY_FILE: Final = "payload-codec.json"
REDACTION_SALT_FILE: Final = "redaction-salt.json"
CURSOR_SECRET_FILE: Final = "cursor-secret.json"  # noqa: S105 -- a file name, not a secret
DATABASE_FILE: Final = "connector.db"


__all__ = [
    "ApiKeyAuth",
    "ConfigurationError",
    "MerchantAuth",
    "MerchantSettings",
    "MutualTls",
    "OAuth2ClientCredentials",
    "Settings",
    "load_settings",
]


class ConfigurationError(ValueError):
    """The configuration file is missing or unreadable (field errors are pydantic's ``ValidationError``)."""


PlatformId = Annotated[str, StringConstraints(pattern=f"^{PLATFORM_ID_PATTERN.pattern}$")]
MerchantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MerchantPolicy(_Strict):
    """Per-merchant overrides of a platform's policy."""

    allowed_currencies: list[Currency] | None = None
    max_total: int | None = Field(default=None, ge=0, description="Maximum checkout total in minor units.")


class SpendPolicy(_Strict):
    """What a platform may spend on a buyer's behalf (enforced in the `complete` validator)."""

    allowed_currencies: list[Currency] | None = Field(default=None, description="None means any currency.")
    max_total: int | None = Field(default=None, ge=0, description="Maximum checkout total in minor units.")
    merchants: dict[MerchantId, MerchantPolicy] = Field(default_factory=dict)

    def for_merchant(self, merchant_id: str) -> MerchantPolicy:
        """The effective policy at one merchant: a per-merchant value wins over the platform-wide one."""
        override = self.merchants.get(merchant_id, MerchantPolicy())
        return MerchantPolicy(
            allowed_currencies=override.allowed_currencies
            if override.allowed_currencies is not None
            else self.allowed_currencies,
            max_total=override.max_total if override.max_total is not None else self.max_total,
        )


class RateLimit(_Strict):
    requests_per_second: float = Field(default=20.0, gt=0)
    burst: int = Field(default=40, ge=1)
    max_concurrent: int = Field(default=16, ge=1)


class PlatformSettings(_Strict):
    """A registered platform: the keys that prove its identity, where to notify it, what it may do."""

    jwks: dict[str, Any] | None = Field(default=None, description="Inline JWK Set of the platform's public keys.")
    jwks_file: Path | None = Field(default=None, description="File holding the platform's public JWK Set.")
    profile_url: str | None = Field(
        default=None, description="The platform's UCP profile URL; if set, requests must carry it in UCP-Agent."
    )
    webhook_url: str | None = Field(default=None, description="Where the connector sends signed notifications.")
    allow_insecure_loopback: bool = False
    allowed_merchants: list[MerchantId] = Field(default_factory=list)
    policy: SpendPolicy = Field(default_factory=SpendPolicy)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    payment_handlers: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict,
        description="Payment handlers this platform can use (reverse-domain name -> declarations with id, version, "
        "spec, schema, available_instruments...), declared in the connector's profile to the merchants it may use, "
        "so a business that intersects handlers offers them (payment-handler-guide.md).",
    )

    @model_validator(mode="after")
    def _exactly_one_key_source(self) -> PlatformSettings:
        if (self.jwks is None) == (self.jwks_file is None):
            raise ValueError("set exactly one of jwks or jwks_file")
        return self

    @model_validator(mode="after")
    def _urls_are_safe(self) -> PlatformSettings:
        for url in (self.profile_url, self.webhook_url):
            if url is not None:
                check_url(url, business=False, allow_insecure_loopback=self.allow_insecure_loopback)
        return self

    @field_validator("jwks_file")
    @classmethod
    def _jwks_file_readable(cls, value: Path | None) -> Path | None:
        """A missing or unreadable key file is a configuration error at start, not a 401 for every request."""
        if value is not None:
            try:
                JwkSet.from_dict(json.loads(value.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from exc
            except ValueError as exc:
                raise ValueError(f"{value} is not a JSON JWK Set") from exc
            except UcpError as exc:
                raise ValueError(f"{value}: {exc.content}") from exc
        return value

    def load_keys(self) -> JwkSet:
        document = self.jwks
        if self.jwks_file is not None:
            document = json.loads(self.jwks_file.read_text(encoding="utf-8"))
        return JwkSet.from_dict(document)


class TemporalSettings(_Strict):
    address: str = Field(default="127.0.0.1:7233", description="host:port of the Temporal frontend (gRPC).")
    namespace: str = "default"
    task_queue: str = "ucp-checkout"
    tls: bool = False
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    ui_url: str = "http://127.0.0.1:8233"

    @field_validator("address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        """Refused at start, not at the first checkout: ``nonsense`` would make every request a 503."""
        host, separator, port = value.rpartition(":")
        if not separator or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("must be host:port (e.g. 127.0.0.1:7233)")
        return value


class StorageSettings(_Strict):
    """Audit store and session index (storage/README.md); every unset value derives from the state directory.

    * ``database_url`` -- what the *service* connects with. On PostgreSQL the
      append-only service role the migration creates, never the owner.
      Default: the embedded SQLite file ``<state_dir>/connector.db``.
    * ``migration_database_url`` -- what ``migrate`` connects with: the schema
      owner (default: ``database_url``).
    * the redaction salt and the cursor secret, inline (base64url) or as 0600
      files (default ``<keys_dir>/redaction-salt.json``, ``cursor-secret.json``);
      every instance must share them, so production never generates them.
    """

    database_url: str | None = None
    migration_database_url: str | None = None
    database_schema: str | None = Field(default=None, description="PostgreSQL schema (search_path).")
    database_service_role: str = DEFAULT_SERVICE_ROLE
    redaction_salt: SecretStr | None = None
    redaction_salt_file: Path | None = None
    cursor_secret: SecretStr | None = None
    cursor_secret_file: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UCP_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    state_dir: Path = Field(default=Path(".ucp"), description="Local state: keys, SQLite, Temporal DB, logs.")
    keys_dir: Path | None = Field(default=None, description="0600 key files; default <state_dir>/keys.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="The connector API's external base URL (signature authority)."
    )
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings, description="See StorageSettings.")
    merchant_call_timeout_seconds: int = Field(
        default=30, ge=1, le=300, description="Time limit of one merchant call attempt before Temporal retries it."
    )
    api_wait_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long the API waits for an operation before a retry hint."
    )
    outbound_ca_file: Path | None = Field(
        default=None,
        description="Extra CA certificates (PEM) trusted for outbound HTTPS besides the public roots, for a "
        "private PKI such as the docker-compose stack's (`ucp-connector keys tls`).",
    )
    ap2_mandates: bool = Field(
        default=False,
        description="Declare AP2 Mandates (dev.ucp.shopping.ap2_mandate) to merchants: a merchant that offers it "
        "signs every checkout (verified before the platform sees it) and needs ap2.checkout_mandate on complete.",
    )
    platforms: dict[PlatformId, PlatformSettings] = Field(default_factory=dict)
    merchants: dict[MerchantId, MerchantSettings] = Field(default_factory=dict)
    codec_server: CodecServerSettings = Field(default_factory=CodecServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file())

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url_is_https(cls, value: str) -> str:
        """Platforms fetch the connector's profile from here, so it is HTTPS (OVR-31, TRN-01).

        Plain ``http`` is the loopback dev stack's only (127.0.0.0/8, ``::1``,
        ``localhost``), the same exception DESIGN.md makes for merchants.
        """
        parts = urlsplit(value)
        try:
            host = parts.hostname or ""
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"public_base_url {value!r} is not a URL") from exc
        if not host or parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("public_base_url must be scheme://host[:port][/path], without credentials or query")
        if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
            return value
        raise ValueError("public_base_url must use https (plain http only on a loopback host, for dev)")

    @model_validator(mode="after")
    def _platform_merchants_exist(self) -> Settings:
        for platform_id, platform in self.platforms.items():
            unknown = sorted(set(platform.allowed_merchants) - set(self.merchants))
            if unknown:
                raise ValueError(f"platform {platform_id!r} allows unknown merchants: {', '.join(unknown)}")
        return self

    def payment_handlers_for(self, merchant_id: str | None) -> dict[str, list[dict[str, Any]]]:
        """The handlers of every platform allowed at ``merchant_id`` (all platforms for the generic profile)."""
        merged: dict[str, list[dict[str, Any]]] = {}
        for platform in self.platforms.values():
            if merchant_id is not None and merchant_id not in platform.allowed_merchants:
                continue
            for name, declarations in platform.payment_handlers.items():
                known = merged.setdefault(name, [])
                known.extend(entry for entry in declarations if entry not in known)
        return merged

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.state_dir / "keys"

    def key_file(self, name: str) -> Path:
        return self.resolved_keys_dir / name

    @property
    def database_url(self) -> str:
        """The URL the service connects with (an absolute SQLite path by default)."""
        if self.storage.database_url is not None:
            return self.storage.database_url
        return f"sqlite+aiosqlite:///{(self.state_dir / DATABASE_FILE).resolve()}"

    @property
    def owner_database_url(self) -> str:
        return self.storage.migration_database_url or self.database_url

    @property
    def redaction_salt_file(self) -> Path:
        return self.storage.redaction_salt_file or self.key_file(REDACTION_SALT_FILE)

    @property
    def cursor_secret_file(self) -> Path:
        return self.storage.cursor_secret_file or self.key_file(CURSOR_SECRET_FILE)

    @property
    def codec_allowed_origins(self) -> list[str]:
        """The origins the codec server answers (CORS): configured, else the Temporal UI's."""
        if self.codec_server.allowed_origins:
            return list(self.codec_server.allowed_origins)
        parts = urlsplit(self.temporal.ui_url)
        return [f"{parts.scheme}://{parts.netloc}"]


def config_file() -> Path | None:
    """The TOML file to read: ``UCP_CONFIG`` (which must exist), else ``ucp-connector.toml`` if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigurationError(f"{CONFIG_ENV}={named} names no readable file")
    else:
        path = DEFAULT_CONFIG_FILE
        if not path.is_file():
            return None
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"configuration file {path} is unreadable: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from exc
    return path


def load_settings(**overrides: Any) -> Settings:
    """The settings every command reads, with the command's own options on top (``None`` = not given).

    Nested overrides use dicts (``storage={"database_url": ...}``) and are
    merged with the other sources, not substituted for them.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    for key, value in list(given.items()):
        if isinstance(value, dict):
            given[key] = {inner: item for inner, item in value.items() if item is not None}
            if not given[key]:
                del given[key]
    return Settings(**given)
