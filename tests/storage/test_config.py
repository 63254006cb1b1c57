"""Settings and secrets of the storage layer: 0600 files or configuration, never a built-in default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts import b64url_encode
from core.keyfiles import KeyFileError, load_secret
from core.settings import Settings
from storage.repository import Repository
from ucp_connector.cli import app


def test_secrets_come_from_0600_files_or_configuration(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "salt.json"
    with pytest.raises(KeyFileError, match="does not exist"):
        load_secret(path)  # production: never generated implicitly
    created = load_secret(path, create=True)
    assert len(created) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path) == created
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_secret(path)
    assert load_secret(path, inline=b64url_encode(b"i" * 32)) == b"i" * 32
    with pytest.raises(KeyFileError, match="at least 32 bytes"):
        load_secret(path, inline=b64url_encode(b"short"))


async def test_repository_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCP_STORAGE__DATABASE_URL", f"sqlite:///{tmp_path / 'db' / 'ucp.db'}")
    monkeypatch.setenv("UCP_STORAGE__REDACTION_SALT_FILE", str(tmp_path / "keys" / "salt.json"))
    monkeypatch.setenv("UCP_STORAGE__CURSOR_SECRET_FILE", str(tmp_path / "keys" / "cursor.json"))
    settings = Settings()
    assert settings.owner_database_url == settings.database_url
    repository = Repository.from_settings(settings, create_secrets=True)
    try:
        assert repository.engine.dialect.name == "sqlite"
    finally:
        await repository.close()


@pytest.mark.parametrize("args", [["migrate", "--help"], ["audit", "--help"], ["audit", "verify", "--help"]])
def test_storage_commands_have_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "Usage" in result.stdout
