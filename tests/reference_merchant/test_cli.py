"""Running the merchant alone: ``python -m reference_merchant`` and ``ucp-connector merchant``."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests import spec_schemas
from tests.fixtures.http import free_port
from ucp_connector.cli import app

PYTHON = sys.executable


def _wait_for_profile(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("merchant did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_module_entry_point_serves_a_valid_profile(tmp_path: Path) -> None:
    """python -m reference_merchant --port ... --db FILE --config FILE: a real, schema-valid business profile."""
    port = free_port()
    config = tmp_path / "merchant.toml"
    config.write_text('name = "CLI shop"\nplatforms = [{ profile_url = "https://platform.example/.well-known/ucp" }]\n')
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "reference_merchant",
            "--port",
            str(port),
            "--allow-insecure-loopback",
            "--db",
            str(tmp_path / "state.db"),
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        response = _wait_for_profile(f"http://127.0.0.1:{port}/.well-known/ucp", process)
        assert response.status_code == 200 and "public" in response.headers["cache-control"]
        document = response.json()
        assert document["ucp"]["services"]["dev.ucp.shopping"][0]["endpoint"] == f"http://127.0.0.1:{port}/ucp/v1"
        if spec_schemas.SPEC_DIR is not None:
            spec_schemas.assert_valid(spec_schemas.business_profile_validator(), document)
        unsigned = httpx.post(f"http://127.0.0.1:{port}/ucp/v1/checkout-sessions", json={})
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_missing"
    finally:
        _stop(process)
    assert (tmp_path / "state.db").exists()


def test_plain_http_needs_the_explicit_loopback_switch() -> None:
    """DESIGN.md 'Merchants': never a silent downgrade to http."""
    result = subprocess.run(
        [PYTHON, "-m", "reference_merchant", "--port", "1"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "https" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["merchant", "--help"]])
def test_cli_has_a_merchant_command(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "--port" in result.stdout and "--keys-dir" in result.stdout


def test_cli_merchant_keeps_its_key_in_a_0600_file(tmp_path: Path) -> None:
    """ucp-connector merchant: the signing key survives restarts in a private key file."""
    keys_dir = tmp_path / "keys"
    kids = []
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [
                PYTHON,
                "-c",
                "from ucp_connector.cli import main; main()",
                "merchant",
                "--port",
                str(port),
                "--allow-insecure-loopback",
                "--keys-dir",
                str(keys_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            document = _wait_for_profile(f"http://127.0.0.1:{port}/.well-known/ucp", process).json()
            kids.append(document["signing_keys"][0]["kid"])
        finally:
            _stop(process)
    key_file = keys_dir / "merchant-signing.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert kids[0] == kids[1] == json.loads(key_file.read_text())["active"]["kid"]


def test_each_entry_point_runs_the_release_it_is_asked_for(tmp_path: Path) -> None:
    """--ucp-version in python -m reference_merchant and ucp-connector merchant: the profile of that release."""
    runs = [
        ([PYTHON, "-m", "reference_merchant", "--ucp-version", "2026-01-11"], "2026-01-11"),
        (
            [
                PYTHON,
                "-c",
                "from ucp_connector.cli import main; main()",
                "merchant",
                "--keys-dir",
                str(tmp_path),
                "--ucp-version",
                "2026-08-25",
                "--supported-version",
                "2026-04-08",
            ],
            "2026-08-25",
        ),
    ]
    for command, version in runs:
        port = free_port()
        process = subprocess.Popen(
            [*command, "--port", str(port), "--allow-insecure-loopback"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            document = _wait_for_profile(f"http://127.0.0.1:{port}/.well-known/ucp", process).json()
        finally:
            _stop(process)
        assert document["ucp"]["version"] == version
        if version == "2026-01-11":
            assert isinstance(document["ucp"]["capabilities"], list) and document["signing_keys"] is None
        else:
            assert document["keys"] and set(document["ucp"]["supported_versions"]) == {"2026-04-08"}


def test_an_inconsistent_release_choice_is_refused_at_start() -> None:
    """supported_versions must be older than ucp_version: a one-line error, exit 2, no traceback."""
    result = subprocess.run(
        [
            PYTHON,
            "-m",
            "reference_merchant",
            "--port",
            "1",
            "--allow-insecure-loopback",
            "--ucp-version",
            "2026-04-08",
            "--supported-version",
            "2026-08-25",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "not older than 2026-04-08" in result.stderr
    assert "Traceback" not in result.stderr
