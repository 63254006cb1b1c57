"""Supervising the child processes of ``ucp-connector dev``.

Each child runs in its own process group so that Ctrl-C (or SIGTERM, or the
SIGHUP of a closed terminal) reaches every grandchild too, and shutdown is
orderly: SIGTERM, a grace period, then SIGKILL, so nothing is left behind.
A ``dev`` that is killed outright (SIGKILL) cannot stop anything itself, so
every child asks the kernel to send it SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``, Linux): the children never outlive ``dev``.

Ports are checked *before* anything starts, so a busy port is a clear message
rather than a child dying half-way through start-up — naming the process that
holds it, and saying so when it is one of ours. Each child's log of the
previous run is kept (``api.log.1``, ...), never truncated.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

PR_SET_PDEATHSIG: Final = 1  # <linux/prctl.h>
KEPT_LOGS: Final = 3
LISTEN: Final = "0A"  # TCP state in /proc/net/tcp
OUR_COMMANDS: Final = ("ucp_connector", "ucp-connector", "temporal server start-dev")


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


@dataclass(frozen=True)
class PortHolder:
    pid: int
    command: str

    @property
    def ours(self) -> bool:
        return any(marker in self.command for marker in OUR_COMMANDS)

    def describe(self) -> str:
        if self.ours:
            return f"held by pid {self.pid} ({self.command[:80]}), left running by an earlier dev: kill {self.pid}"
        return f"held by pid {self.pid} ({self.command[:80]})"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def _socket_owners(inodes: set[str]) -> Iterator[int]:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        yield int(entry.name)
                        break


def port_holder(port: int) -> PortHolder | None:
    """Who listens on ``port`` (Linux ``/proc``; ``None`` if unknown or not visible to us)."""
    inodes = _listening_inodes(port)
    for pid in _socket_owners(inodes) if inodes else ():
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            return PortHolder(pid, command.strip())
    return None


def require_free_ports(host: str, ports: dict[str, int]) -> None:
    busy = []
    for name, port in ports.items():
        if not port_is_free(host, port):
            holder = port_holder(port)
            busy.append(f"{name} (port {port}{', ' + holder.describe() if holder else ''})")
    if busy:
        raise StackError(
            "port already in use: " + "; ".join(busy) + ". Stop whatever holds it or choose other ports "
            "(see `ucp-connector dev --help`)."
        )


def rotate_log(path: Path, keep: int = KEPT_LOGS) -> None:
    """``x.log`` becomes ``x.log.1`` (and so on, ``keep`` generations), so the last run's lines survive."""
    if not path.exists():
        return
    for generation in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{generation}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{generation + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGTERM this child when ``dev`` dies, however it dies (Linux only)."""

    def arm() -> None:
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # dev died between fork and prctl
            os._exit(1)

    return arm


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
        rotate_log(self.log_file)  # readiness then reads this run's lines only
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by us, never from input
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(self.env or {})},
            preexec_fn=_die_with_parent(os.getpid()),
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
