"""Storage settings (environment ``UCP_*``) and the two secrets the repository needs.

* ``UCP_DATABASE_URL`` -- what the *service* connects with. On PostgreSQL this
  is the append-only service role the migration creates (``ucp_service`` by
  default), never the owner. Default: the embedded SQLite file
  ``.ucp/ucp.db``.
* ``UCP_MIGRATION_DATABASE_URL`` -- what ``ucp-connector migrate`` connects
  with: the schema owner (falls back to ``UCP_DATABASE_URL``).
* ``UCP_DATABASE_SCHEMA`` -- PostgreSQL schema (``search_path``); default the
  role's default (``public``).
* ``UCP_DATABASE_SERVICE_ROLE`` -- the role the migration grants INSERT/SELECT on
  ``audit_events`` to.
* The redaction salt (``UCP_REDACTION_SALT`` or the 0600 file
  ``UCP_REDACTION_SALT_FILE``) and the cursor secret (``UCP_CURSOR_SECRET`` or
  ``UCP_CURSOR_SECRET_FILE``). Both must be the same on every instance (hashes
  must correlate, a cursor issued by one API replica must be accepted by the
  next), so production never generates them implicitly: ``create=True`` is
  for ``ucp-connector dev`` and tests only.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import b64url_decode, b64url_encode
from storage.database import DEFAULT_DATABASE_URL
from ucp_connector.keyfiles import KeyFileError, read_secret_json, write_secret_json

DEFAULT_SERVICE_ROLE: Final = "ucp_service"
SECRET_BYTES: Final = 32


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UCP_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    migration_database_url: str | None = None
    database_schema: str | None = None
    database_service_role: str = DEFAULT_SERVICE_ROLE
    redaction_salt: SecretStr | None = None
    redaction_salt_file: Path = Path(".ucp/keys/redaction-salt.json")
    cursor_secret: SecretStr | None = None
    cursor_secret_file: Path = Path(".ucp/keys/cursor-secret.json")

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.database_url


def load_secret(path: Path, *, inline: SecretStr | None = None, create: bool = False) -> bytes:
    """The secret from configuration (base64url) or its 0600 file; ``create`` makes the file if absent."""
    if inline is not None:
        value = b64url_decode(inline.get_secret_value())
    else:
        if create and not path.exists():
            write_secret_json(path, {"secret": b64url_encode(secrets.token_bytes(SECRET_BYTES))})
        document = read_secret_json(path)
        encoded = document.get("secret")
        if not isinstance(encoded, str):
            raise KeyFileError(f"secret file {path} must hold {{'secret': <base64url>}}")
        value = b64url_decode(encoded)
    if len(value) < SECRET_BYTES:
        raise KeyFileError(f"secret {path.name} must be at least {SECRET_BYTES} bytes")
    return value
