"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), and the translation of driver failures.

* ``postgresql://`` URLs are run on asyncpg; ``schema`` sets the
  ``search_path`` (one schema per deployment, or per test run). Connect and
  statement timeouts are short, so an unreachable database surfaces as a
  retryable error in seconds instead of a hung activity.
* SQLite files run in WAL mode with a busy timeout; SQLAlchemy emits ``BEGIN``
  itself (SQLAlchemy docs, "Transactions with SQLite"), and write transactions
  use ``BEGIN IMMEDIATE`` so two writers queue on the file lock instead of
  deadlocking when both try to upgrade a read lock.
* :func:`translate_errors` turns every operational failure into
  :class:`~storage.errors.StorageUnavailableError`, so callers see one typed,
  retryable error (DESIGN.md "Storage"; the API maps it to 503, fail closed).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.errors import StorageUnavailableError

DEFAULT_DATABASE_URL: Final = "sqlite+aiosqlite:///.ucp/ucp.db"
CONNECT_TIMEOUT_S: Final = 5.0
STATEMENT_TIMEOUT_S: Final = 30.0
SQLITE_BUSY_TIMEOUT_S: Final = 10.0
IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
WRITE_OPTION: Final = "ucp_write"
_LOCK_TIMEOUTS: dict[str, float] = {}  # SQLite URL -> the lock timeout its engine was made with


def validate_identifier(value: str, what: str) -> str:
    """Schema and role names are interpolated into DDL, so only plain lowercase identifiers pass."""
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{what} must match [a-z_][a-z0-9_]{{0,62}}, got {value!r}")
    return value


def normalise_url(url: str | URL) -> URL:
    """Pick the async driver for a plain ``postgresql://`` or ``sqlite://`` URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError("database URL is not a valid SQLAlchemy URL") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() != "asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and parsed.get_driver_name() != "aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend not in {"postgresql", "sqlite"}:
        raise ValueError(f"unsupported database backend {backend!r}: use postgresql or sqlite")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError("SQLite needs a file: several connections must see the same database")
    return parsed


def make_engine(
    url: str | URL, *, schema: str | None = None, pool_size: int = 10, lock_timeout_s: float = SQLITE_BUSY_TIMEOUT_S
) -> AsyncEngine:
    """An engine for ``url``; ``schema`` (PostgreSQL only) becomes the connection's ``search_path``.

    ``lock_timeout_s`` bounds how long a SQLite writer waits for the file lock
    before the write fails as retryable ``locked``.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, lock_timeout_s)
    server_settings = {"statement_timeout": str(int(STATEMENT_TIMEOUT_S * 1000)), "application_name": "ucp-connector"}
    if schema:
        server_settings["search_path"] = validate_identifier(schema, "schema")
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=CONNECT_TIMEOUT_S,
        pool_pre_ping=True,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "server_settings": server_settings},
    )


def _sqlite_engine(url: URL, lock_timeout_s: float) -> AsyncEngine:
    if url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": lock_timeout_s})
    _sqlite_session_rules(engine.sync_engine, lock_timeout_s)
    _LOCK_TIMEOUTS[url.render_as_string(hide_password=False)] = lock_timeout_s
    return engine


def sqlite_batch_engine(engine: AsyncEngine) -> Engine:
    """A plain (sync) engine on ``engine``'s SQLite file, with the same PRAGMAs and ``BEGIN IMMEDIATE`` writes.

    Issue 13: through aiosqlite every driver call is a hop to its thread and back (a self-pipe wake-up of the
    event loop); a batch written on this engine in one ``asyncio.to_thread`` call is one hop (storage.batch
    ``run_sync``). Same file, same transaction rules, so readers on either engine see the same rows.
    """
    key = engine.url.render_as_string(hide_password=False)
    lock_timeout_s = _LOCK_TIMEOUTS.get(key, SQLITE_BUSY_TIMEOUT_S)
    twin = create_engine(
        engine.url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": lock_timeout_s, "check_same_thread": False},
    )
    _sqlite_session_rules(twin, lock_timeout_s)
    return twin


def _sqlite_session_rules(engine: Engine, lock_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Re-raise driver, network and timeout failures as a retryable :class:`StorageUnavailableError`.

    ``IntegrityError`` passes through untouched: it is a *decision* (a unique
    key exists), which the repository handles itself.
    """
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        reason = "unreachable" if exc.connection_invalidated else _reason(exc)
        raise StorageUnavailableError(
            f"storage {operation} failed ({reason})", reason=reason, detail={"operation": operation}
        ) from exc
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise StorageUnavailableError(
            f"storage {operation} failed (unreachable)", reason="unreachable", detail={"operation": operation}
        ) from exc


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "timeout" in text or "canceling statement" in text:
        return "timeout"
    if "does not exist" in text or "no such table" in text:
        return "not_migrated"
    if "permission denied" in text:
        return "permission_denied"
    return "database_error"


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction meant to write (``BEGIN IMMEDIATE`` on SQLite)."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{WRITE_OPTION: True})
        async with connection.begin():
            yield connection


@contextlib.contextmanager
def sync_write_transaction(engine: Engine) -> Iterator[Connection]:
    """:func:`write_transaction` on a plain engine (``sqlite_batch_engine``)."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection
