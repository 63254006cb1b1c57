"""SQLAlchemy 2 models of the audit log and the session index (DESIGN.md "Storage").

The same schema runs on PostgreSQL (asyncpg) and SQLite (aiosqlite). The
Alembic migrations in ``storage/migrations`` create it; a test compares these
models with the migrated database (``alembic check``), so the two cannot drift.

``audit_events`` is append-only (invariant 7): one row per event, unique on
(session_id, seq), never updated or deleted -- the migration adds triggers that
refuse UPDATE/DELETE on both backends, and on PostgreSQL a service role that
only has SELECT/INSERT. ``sessions`` is a *projection* for listing (invariant
9), updated in place; the workflow's state stays authoritative.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both backends.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    stored as naive UTC and made aware again on read. Microsecond precision on
    both, which the hash chain relies on (the timestamp is hashed as text).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dt.datetime: UtcDateTime()}


class AuditEventRow(Base):
    """One audit event; ``hash`` chains it to the previous event of the same session (storage/audit.py)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index(None, "platform_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    request_digest: Mapped[str | None] = mapped_column(String(128))
    response_digest: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SessionRow(Base):
    """The listing projection of a checkout session: owner, merchant, status and timestamps."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index(None, "platform_id", "created_at", "session_id"),
        Index(None, "platform_id", "status", "created_at", "session_id"),
        Index(None, "merchant_id", "merchant_checkout_id"),
        Index(None, "merchant_id", "order_id"),
        CheckConstraint("version >= 0", name="version_non_negative"),
    )

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[str] = mapped_column(String(64))
    merchant_checkout_id: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(BigInteger)


audit_events = cast(Table, AuditEventRow.__table__)
sessions = cast(Table, SessionRow.__table__)
metadata = Base.metadata
