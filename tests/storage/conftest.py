"""Backends for the storage tests: the real PostgreSQL at 127.0.0.1:5432 and SQLite files.

Every test that takes ``backend``/``repo``/``fresh_backend`` runs on both. On
PostgreSQL each backend is a schema of its own (``ucp_test_<run>_<n>``) with
its own service role, created, migrated as the superuser ``postgres``, and
dropped (after a migration downgrade) when the fixture ends, so parallel runs
and other worktrees never see each other's rows. The repository connects as
the service role, so every repository test also proves the role's grants
suffice. PostgreSQL missing: the tests skip, or fail when
``UCP_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.repository import Repository
from tests.storage.backends import BACKENDS, Backend, create_backend, destroy_backend


@pytest.fixture(scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    """One migrated database per backend for the whole run; tests isolate themselves by unique session ids."""
    created = await create_backend(request.param, tmp_path_factory.mktemp("storage"))
    yield created
    await destroy_backend(created)


@pytest.fixture
async def repo(backend: Backend) -> AsyncIterator[Repository]:
    repository = backend.repository()
    yield repository
    await repository.close()


@pytest.fixture(params=BACKENDS)
async def fresh_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A database of its own (for tests that tamper with rows or verify the whole table)."""
    created = await create_backend(request.param, tmp_path)
    yield created
    await destroy_backend(created)


@pytest.fixture(params=BACKENDS)
async def empty_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A database with no schema yet (migration tests)."""
    created = await create_backend(request.param, tmp_path, migrated=False)
    yield created
    await destroy_backend(created)
