"""The merchant's own SQLite database (SQLAlchemy 2, async, aiosqlite).

Separate from the connector's audit store: this is the *merchant's* state, so
a test can restart the merchant on the same file and find its checkouts,
orders, idempotency records and undelivered webhooks again.

Tables are created on start-up (``create_all``); the schema is small and owned
by a test fixture server, so it has no migration history. Times are stored as
epoch seconds (floats) from the injected clock, which sort and compare without
timezone surprises in SQLite.

``:memory:`` databases use one shared connection (``StaticPool``), otherwise
every session would see its own empty database. Because a shared connection
has one transaction at a time, one session closing (rolling back) would undo
another's uncommitted work; so :meth:`Database.session` hands out one session
at a time, for file databases too (it also spares SQLite's writer locking).
Sessions must therefore never be nested.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, LargeBinary, String, UniqueConstraint, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    pass


def epoch(instant: dt.datetime) -> float:
    return instant.timestamp()


class CheckoutRow(Base):
    """A checkout session: its inputs and status (``state``) and the last rendered body (``snapshot``)."""

    __tablename__ = "checkouts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(2048), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    completes_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


class OrderRow(Base):
    """An order; ``checkout_id`` is unique, so one checkout can never produce two orders."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkout_id: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(2048), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    ship_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    deliver_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyRow(Base):
    """One ``Idempotency-Key`` of one platform: the request fingerprint and the exact response body sent."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(2048))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float, index=True)


class WebhookRow(Base):
    """An order event waiting to be (or already) delivered; ``id`` is its ``Webhook-Id``."""

    __tablename__ = "webhooks"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # delivery order
    id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    event_type: Mapped[str] = mapped_column(String(64))
    release: Mapped[str] = mapped_column(String(16), default="2026-04-08")  # whose shape and signature
    timestamp: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, index=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(512), nullable=True)


class Database:
    """Engine + session factory for one merchant."""

    def __init__(self, url: str) -> None:
        in_memory = url.endswith(":memory:") or url.endswith("://")
        options: dict[str, Any] = {}
        if in_memory:
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine: AsyncEngine = create_async_engine(url, **options)
        event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._lock = asyncio.Lock()

    async def create_schema(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The only session open right now; closed (rolled back unless committed) on exit."""
        async with self._lock, self._sessions() as session:
            yield session


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # A file database survives a crash of the merchant process with every committed transaction.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
