"""Supervising the child processes of ``ucp-connector dev``.

Each child runs in its own process group so that Ctrl-C (or SIGTERM) reaches
every grandchild too (the Temporal CLI forks the server and UI), and shutdown
is orderly: SIGTERM, a grace period, then SIGKILL, so nothing is left behind.
Ports are checked *before* anything starts, so a busy port is a clear message
rather than a child dying half-way through start-up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class StackError(RuntimeError):
    """A user-facing start-up problem (busy port, child that exits early, readiness timeout)."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free_ports(host: str, ports: dict[str, int]) -> None:
    busy = [f"{name} (port {port})" for name, port in ports.items() if not port_is_free(host, port)]
    if busy:
        raise StackError(
            "port already in use: " + ", ".join(busy) + ". Stop whatever holds it or choose other ports "
            "(see `ucp-connector dev --help`)."
        )


def tcp_answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    ready: Callable[[], bool]
    log_file: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by us, never from input
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(self.env or {})},
        )
        log.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {self.process.returncode} during start-up; see {self.log_file}"
                )
            if self.ready():
                return
            time.sleep(0.2)
        raise StackError(f"{self.name} was not ready after {timeout:.0f}s; see {self.log_file}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # The group may still hold grandchildren that ignored SIGTERM.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class Stack:
    """Children started in order and stopped in reverse order, always."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child, *, timeout: float = 60.0) -> None:
        self.children.append(child)
        child.start()
        child.wait_ready(timeout)

    def first_dead(self) -> Child | None:
        return next((child for child in self.children if not child.alive()), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
