"""The CLI as a user meets it: help for every command, clean errors, and `dev` start/stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from tests.fixtures.http import free_ports
from ucp_connector.cli import app

CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        *(
            [command, "--help"]
            for command in (
                "dev",
                "demo",
                "api",
                "worker",
                "merchant",
                "migrate",
                "keys",
                "audit",
                "session",
                "codec-server",
            )
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


def _cli(args: list[str], *, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("UCP_")}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd, env={**clean, **env}
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_session_show_of_an_unknown_session_says_so(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """Today a 72-line RPCError traceback (issue 16, item 4)."""
    assert _cli(["keys", "generate"], cwd=tmp_path).returncode == 0
    address = dev_server_env.client.service_client.config.target_host
    result = _cli(["session", "show", "checkout/demo/cs_unknown"], cwd=tmp_path, UCP_TEMPORAL__ADDRESS=address)
    _one_line_error(result, "no session checkout/demo/cs_unknown")


def test_session_show_with_temporal_down_says_where_it_looked(tmp_path: Path) -> None:
    assert _cli(["keys", "generate"], cwd=tmp_path).returncode == 0
    [port] = free_ports(1)
    result = _cli(["session", "show", "checkout/demo/cs_x"], cwd=tmp_path, UCP_TEMPORAL__ADDRESS=f"127.0.0.1:{port}")
    _one_line_error(result, f"cannot reach Temporal at 127.0.0.1:{port}")


def test_a_temporal_address_that_is_not_host_and_port_is_refused_at_start(tmp_path: Path) -> None:
    """``UCP_TEMPORAL__ADDRESS=nonsense`` used to start an API whose every request was a 503."""
    result = _cli(["api", "--port", str(free_ports(1)[0])], cwd=tmp_path, UCP_TEMPORAL__ADDRESS="nonsense")
    _one_line_error(result, "temporal.address", "host:port")


def test_a_missing_platform_key_file_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "ucp-connector.toml"
    config.write_text(f'[platforms.acme]\njwks_file = "{tmp_path / "absent.jwks.json"}"\n', encoding="utf-8")
    result = _cli(["api", "--port", str(free_ports(1)[0])], cwd=tmp_path, UCP_CONFIG=str(config))
    _one_line_error(result, "platforms.acme.jwks_file", "absent.jwks.json")


def test_the_wrapper_help_lists_the_connector_commands() -> None:
    """``./ucp --help`` printed the wrapper's comment block and a stray ``set -euo pipefail``."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [str(root / "ucp"), "--help"], capture_output=True, text=True, timeout=600, check=False, cwd=root
    )
    assert result.returncode == 0, result.stderr
    assert "set -euo" not in result.stdout
    for command in ("dev", "demo", "session", "audit", "keys", "migrate"):
        assert f"│ {command} " in result.stdout or f"  {command} " in result.stdout, result.stdout
