"""The CLI as a user meets it: help for every command, clean errors, and `dev` start/stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ucp_connector.cli import app

CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        *(
            [command, "--help"]
            for command in ("dev", "demo", "api", "worker", "merchant", "migrate", "keys", "audit", "session")
        ),
        ["keys", "generate", "--help"],
        ["keys", "rotate", "--help"],
        ["keys", "show", "--help"],
        ["audit", "verify", "--help"],
    ],
)
def test_every_command_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_user_mistakes_are_one_line_errors_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "keys", "show", "--keys-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_busy_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        result = subprocess.run(
            [*CLI, "dev", "--state-dir", str(tmp_path), "--temporal-port", str(busy)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {busy}" in result.stderr and "already in use" in result.stderr


def test_demo_without_a_dev_stack_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "demo", "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "start `ucp-connector dev` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_reported_field_by_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[merchants.shop]\nprofile_url = "http://shop.example/.well-known/ucp"\n')
    result = subprocess.run(
        [*CLI, "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "UCP_CONFIG": str(config)},
    )
    assert result.returncode == 2 and "merchants.shop" in result.stderr and "https" in result.stderr
    assert "Traceback" not in result.stderr
