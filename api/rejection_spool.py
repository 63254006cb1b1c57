"""A local, append-only spool between the API's refusals and the audit store (issue 12.10).

Refusals used to be written to the store inline: while the store was locked
each refused request waited for it (10 s) and then was lost from the trail.
Now a refusal is one JSON line appended (and fsynced) to this process's spool
file, and the request is answered at once; a background task moves the lines
into the store in order, retrying while the store is down. Nothing is lost
while the disk holds: a line leaves the spool only after the store took it.

* one file per process (``rejections-<random>.jsonl``, 0600 in a 0700
  directory), held under an exclusive ``flock``; a file nobody holds is an
  orphan of a process that died, and is drained (then removed) by the next;
* ``<file>.offset`` records how far the file has been stored; a crash between
  a store write and the offset update stores that line twice on restart
  (at-least-once: a duplicate refusal row, never a missing one);
* the spooled payloads are the API's refusal facts (route, status, reason) —
  no request bodies, no credentials; the store redacts as always.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Final

import structlog
from pydantic import ValidationError

from storage.audit import NewAuditEvent
from storage.errors import StorageError

log = structlog.get_logger(__name__)

PREFIX: Final = "rejections-"
Store = Callable[[NewAuditEvent], Awaitable[object]]


def _read_offset(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def _write_offset(path: Path, offset: int) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(str(offset), encoding="ascii")
    os.replace(temporary, path)


def _try_lock(path: Path) -> IO[bytes] | None:
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


class RejectionSpool:
    def __init__(self, directory: Path, store: Store, *, retry_seconds: float = 1.0) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._directory = directory
        self._store = store
        self._retry = retry_seconds
        self._path = directory / f"{PREFIX}{uuid.uuid4().hex}.jsonl"
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "ab")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self.stored = 0

    # -- the answer path: local and fast ----------------------------------

    def append(self, event: NewAuditEvent) -> None:
        """Durably spool one refusal (append + fsync) and wake the drainer; never waits on the store."""
        self._file.write(event.model_dump_json().encode() + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._kick()

    def _kick(self) -> None:
        if self._wake is None or self._idle is None:
            self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rejection-spool")

    # -- the drainer -------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if await self._drain_all():
                self._idle.set()
            else:
                await asyncio.sleep(self._retry)
                self._wake.set()

    async def _drain_all(self) -> bool:
        """Store every spooled line (own file, then orphans); ``False`` when the store refused one."""
        if not await self._drain(self._path, own=True):
            return False
        for orphan in sorted(self._directory.glob(f"{PREFIX}*.jsonl")):
            if orphan == self._path:
                continue
            handle = _try_lock(orphan)
            if handle is None:
                continue  # another live process owns it
            try:
                if not await self._drain(orphan, own=False):
                    return False
                orphan.unlink(missing_ok=True)
                orphan.with_suffix(".offset").unlink(missing_ok=True)
            finally:
                handle.close()
        return True

    async def _drain(self, path: Path, *, own: bool) -> bool:
        marker = path.with_suffix(".offset")
        offset = _read_offset(marker)
        with path.open("rb") as source:
            source.seek(offset)
            for line in source:
                if not line.endswith(b"\n"):
                    break  # a line still being written (or torn by a crash): read again next time
                try:
                    event = NewAuditEvent.model_validate_json(line)
                except ValidationError:
                    log.error("rejection_spool_line_unreadable", file=path.name, offset=offset)
                else:
                    try:
                        await self._store(event)
                    except StorageError as failure:
                        log.warning("audit_unavailable_spooled", reason=failure.reason, file=path.name)
                        return False
                    self.stored += 1
                offset += len(line)
                _write_offset(marker, offset)
        if own and offset and offset == self._path.stat().st_size:
            # Everything is in the store and nothing was appended since (no await in between): start over.
            self._file.truncate(0)
            _write_offset(marker, 0)
        return True

    async def drained(self) -> None:
        """Wait until every spooled line is in the store (tests, shutdown)."""
        if self._idle is not None and self._task is not None and not self._task.done():
            await self._idle.wait()

    async def close(self, bound_seconds: float = 2.0) -> None:
        """Drain what the store takes within ``bound_seconds``; the rest stays spooled for the next process."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained(), bound_seconds)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._file.close()


__all__ = ["RejectionSpool"]
