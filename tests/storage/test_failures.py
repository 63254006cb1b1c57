"""Storage failures are typed and retryable; a retried write loses nothing and duplicates nothing.

DESIGN.md "Storage": the audit activity retries with backoff, the API answers
503 (fail closed) when the audit path is unavailable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contracts import CursorCodec, ErrorCode, Redactor
from storage.database import make_engine
from storage.errors import StorageUnavailableError
from storage.repository import Repository
from tests.storage.backends import TEST_CURSOR_SECRET, TEST_SALT, Backend, event, new_session_id


def _repository(url: str, **options: object) -> Repository:
    return Repository(
        make_engine(url, **options),  # type: ignore[arg-type]
        redactor=Redactor(TEST_SALT),
        cursors=CursorCodec(TEST_CURSOR_SECRET),
    )


async def test_unreachable_database_is_a_retryable_503() -> None:
    repo = _repository("postgresql://postgres@127.0.0.1:1/test")
    try:
        for attempt in (repo.append_audit_event(event(new_session_id(), 1)), repo.ping()):
            with pytest.raises(StorageUnavailableError) as caught:
                await attempt
            assert caught.value.retryable and caught.value.http_status == 503
            assert caught.value.code is ErrorCode.SERVICE_UNAVAILABLE and caught.value.reason == "unreachable"
    finally:
        await repo.close()


async def test_unmigrated_database_fails_closed(tmp_path: Path) -> None:
    repo = _repository(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StorageUnavailableError) as caught:
            await repo.ping()
        assert caught.value.reason == "not_migrated"
    finally:
        await repo.close()


@pytest.mark.parametrize("fresh_backend", ["sqlite"], indirect=True)
async def test_locked_database_is_retryable_and_the_retry_writes_exactly_once(fresh_backend: Backend) -> None:
    """A writer that hits a held lock fails retryably; the same event retried later is stored once."""
    repo = fresh_backend.repository(lock_timeout_s=0.2)
    session = new_session_id()
    blocker = sqlite3.connect(fresh_backend.owner_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        await repo.append_audit_event(event(session, 1))
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageUnavailableError) as caught:
            await repo.append_audit_event(event(session, 2))
        assert caught.value.retryable and caught.value.reason == "locked"
        blocker.execute("ROLLBACK")
        stored = await repo.append_audit_event(event(session, 2))
        assert await repo.append_audit_event(event(session, 2)) == stored
        report = await repo.verify_chains(session)
        assert report.ok and report.events == 2
    finally:
        blocker.close()
        await repo.close()
