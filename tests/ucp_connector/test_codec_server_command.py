"""``ucp-connector codec-server`` as an operator starts it: it serves, and never unauthenticated in the open.

Issue 16.1: ``auth = "none"`` is for ``dev`` on loopback only; anywhere else the
command stops with a one-line configuration error before binding anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.connector_keys import ensure_connector_keys
from core.settings import Settings
from tests.fixtures.http import free_ports

CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


def _env(state_dir: Path) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("UCP_")}
    return {**clean, "UCP_STATE_DIR": str(state_dir), "UCP_LOG_FORMAT": "json"}


def test_unauthenticated_on_a_public_interface_is_refused_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "codec-server", "--host", "0.0.0.0"],  # noqa: S104 -- the refused case
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "only allowed on loopback" in result.stderr and "Traceback" not in result.stderr


def test_it_serves_decode_and_has_no_encode(tmp_path: Path) -> None:
    ensure_connector_keys(Settings(state_dir=tmp_path))
    [port] = free_ports(1)
    server = subprocess.Popen(
        [*CLI, "codec-server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "codec-server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "codec-server did not start"
                time.sleep(0.2)
        assert httpx.post(f"http://127.0.0.1:{port}/encode", json={"payloads": []}).status_code == 404
        decoded = httpx.post(f"http://127.0.0.1:{port}/decode", json={"payloads": []})
        assert decoded.status_code == 200 and decoded.json() == {"payloads": []}
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert b"codec_server.started" in errors
