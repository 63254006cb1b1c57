"""The CLI as a user meets it: help for every command, clean errors, and `dev` start/stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ucp_connector.cli import app

CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


@pytest.mark.parametrize("args", [["--help"], ["dev", "--help"], ["keys", "--help"], ["keys", "rotate", "--help"]])
def test_every_command_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_user_mistakes_are_one_line_errors_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "keys", "show", "--keys-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid or int(fields[2]) == pid:  # parent or process group
            found.add(int(entry.name))
    return found


@pytest.mark.e2e
def test_dev_starts_temporal_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    grpc, ui = _free_port(), _free_port()
    process = subprocess.Popen(
        [*CLI, "dev", "--state-dir", str(tmp_path), "--temporal-port", str(grpc), "--temporal-ui-port", str(ui)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "Ctrl-C" in line or not line:
                break
        assert any(f"http://127.0.0.1:{ui}" in line for line in output), "".join(output)
        descendants = set().union(*(_children_of(child) for child in _children_of(process.pid)))
        descendants |= _children_of(process.pid)
        assert descendants, "dev should have started the Temporal server"
        os.kill(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        output.append(process.stdout.read())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, "".join(output)
    time.sleep(0.5)
    leftovers = [pid for pid in descendants if Path(f"/proc/{pid}").exists()]
    assert leftovers == [], f"processes left behind: {leftovers}"
    assert (tmp_path / "temporal.db").exists()
