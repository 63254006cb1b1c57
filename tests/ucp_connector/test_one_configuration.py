"""Every process and command reads the one Settings object (issue 10, "Done means").

Regression tests for the three misconfigurations a new user met when
`migrate`, `audit verify`, `keys generate` and the API each had their own idea
of where the database and the secret files are:

* `migrate` migrated `.ucp/ucp.db` while the API used the database named in
  the config file's `[storage]` section;
* with only the Dockerfile's environment, `keys generate` wrote the redaction
  salt under `UCP_KEYS_DIR` while the API looked in `.ucp/keys/` and refused to
  start;
* `audit verify` with a mistyped `--session` said every chain was intact.

(The fourth, `audit verify` without flags on the `dev` stack, runs against a
real `dev` in tests/e2e/test_dev_stack.py.)
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from storage import migrate as migrations
from storage.repository import Repository
from tests.fixtures.http import free_ports

CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]
ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any UCP_* setting, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("UCP_")}
    return {**env, **extra}


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd, env=env)


def test_migrate_migrates_the_database_named_only_in_the_config_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "audit.db"
    config = tmp_path / "ucp-connector.toml"
    config.write_text(f'[storage]\ndatabase_url = "sqlite:///{database}"\n', encoding="utf-8")
    env = _clean_env(UCP_CONFIG=str(config))

    result = _run(["migrate"], cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert database.exists(), "the configured database was not migrated"
    assert not (tmp_path / ".ucp").exists(), "migrate touched another database"

    async def api_view() -> str | None:
        os.environ["UCP_CONFIG"] = str(config)
        try:
            settings = Settings()
        finally:
            del os.environ["UCP_CONFIG"]
        repository = Repository.from_settings(settings, create_secrets=True)
        try:
            await repository.ping()  # the API's readiness read: the table exists where the API looks
            return await migrations.current_revision(repository.engine)
        finally:
            await repository.close()

    assert asyncio.run(api_view()) is not None


def _dockerfile_environment(state_root: Path) -> dict[str, str]:
    """The image's `ENV UCP_*` lines, with /var/lib/ucp moved under ``state_root``."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(UCP_[A-Z_]+)=(\S+)", line))
    assert {"UCP_STATE_DIR", "UCP_KEYS_DIR"} <= set(found), found
    return {key: value.replace("/var/lib/ucp", str(state_root)) for key, value in found.items()}


def test_the_dockerfile_environment_starts_the_api_after_keys_generate(tmp_path: Path) -> None:
    state_root = tmp_path / "var-lib-ucp"
    env = _clean_env(**_dockerfile_environment(state_root))
    for step in (["keys", "generate"], ["migrate"]):
        result = _run(step, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    [port] = free_ports(1)
    log = (tmp_path / "api.log").open("wb")
    api = subprocess.Popen([*CLI, "api", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and api.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200, (tmp_path / "api.log").read_text(errors="replace")
    finally:
        api.terminate()
        api.wait(timeout=30)
        log.close()
    assert not (tmp_path / ".ucp").exists(), "the API looked for its files outside UCP_STATE_DIR/UCP_KEYS_DIR"


def test_audit_verify_of_a_session_that_has_no_events_is_an_error(tmp_path: Path) -> None:
    env = _clean_env(UCP_STATE_DIR=str(tmp_path / "state"))
    assert _run(["keys", "generate"], cwd=tmp_path, env=env).returncode == 0
    assert _run(["migrate"], cwd=tmp_path, env=env).returncode == 0

    mistyped = _run(["audit", "verify", "--session", "cs_mistyped"], cwd=tmp_path, env=env)
    assert mistyped.returncode == 2, mistyped.stdout
    assert "no audit events for session cs_mistyped" in mistyped.stdout
    assert "intact" not in mistyped.stdout

    everything = _run(["audit", "verify"], cwd=tmp_path, env=env)
    assert everything.returncode == 0 and "0 events" in everything.stdout, everything.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "names no readable file"),
        ("public_base_url = [unterminated\n", "is not valid TOML"),
    ],
)
def test_a_bad_config_file_is_a_one_line_error(tmp_path: Path, content: str | None, message: str) -> None:
    config = tmp_path / "ucp-connector.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = _run(["audit", "verify"], cwd=tmp_path, env=_clean_env(UCP_CONFIG=str(config)))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
