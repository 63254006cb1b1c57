"""Key files and the `keys` CLI (DESIGN invariant 6; SIG-10..SIG-12)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.vectors.regenerate import TEST_KEY_FILE
from core.keyfiles import (
    KeyFileError,
    create_signing_keyring,
    load_signing_keyring,
    retire_signing_key,
    rotate_signing_keyring,
    write_secret_json,
)
from ucp_connector.cli import app


def test_key_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.json"
    create_signing_keyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_world_readable_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.json"
    create_signing_keyring(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_signing_keyring(path)


def test_the_published_test_vector_key_is_never_an_identity(tmp_path: Path) -> None:
    path = tmp_path / "signing.json"
    document = json.loads(TEST_KEY_FILE.read_text())
    document.pop("_comment")
    write_secret_json(path, {"active": document, "previous": []})
    with pytest.raises(KeyFileError, match="test-vector"):
        load_signing_keyring(path)


def test_garbage_key_files_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "signing.json"
    write_secret_json(path, {"active": {"kty": "EC"}})
    with pytest.raises(KeyFileError):
        load_signing_keyring(path)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_signing_keyring(tmp_path / "absent.json")


def test_rotation_keeps_the_old_key_published_until_retired(tmp_path: Path) -> None:
    """SIG-10: add new key, sign with it, keep the old one published, then retire it."""
    path = tmp_path / "signing.json"
    first = create_signing_keyring(path).active.kid
    rotated = rotate_signing_keyring(path)
    assert rotated.active.kid != first
    reloaded = load_signing_keyring(path)
    assert reloaded.active.kid == rotated.active.kid
    assert reloaded.find(first) is not None
    retire_signing_key(path, first)
    assert load_signing_keyring(path).find(first) is None
    with pytest.raises(KeyFileError):
        retire_signing_key(path, reloaded.active.kid)


def test_keys_cli_never_prints_private_material(tmp_path: Path) -> None:
    runner = CliRunner()
    keys_dir = str(tmp_path / "keys")
    assert runner.invoke(app, ["keys", "generate", "--keys-dir", keys_dir]).exit_code == 0
    shown = runner.invoke(app, ["keys", "show", "--keys-dir", keys_dir])
    assert shown.exit_code == 0
    published = json.loads(shown.stdout)
    assert published["keys"][0]["kid"] == published["active_kid"]
    private_d = json.loads((tmp_path / "keys" / "connector-signing.json").read_text())["active"]["d"]
    assert private_d not in shown.stdout and '"d"' not in shown.stdout
    rotated = runner.invoke(app, ["keys", "rotate", "--keys-dir", keys_dir])
    assert rotated.exit_code == 0 and published["active_kid"] in rotated.stdout
