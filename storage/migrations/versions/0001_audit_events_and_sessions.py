"""Audit events (append-only, hash-chained) and the session index.

PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE on ``audit_events``
for every role (the owner included, unless an operator deliberately disables
it), and the service role gets SELECT/INSERT on ``audit_events``,
SELECT/INSERT/UPDATE on ``sessions`` and nothing else (DESIGN.md invariant 7).
The role is created (LOGIN, no password: set one or use certificates/peer
auth) only if it does not exist, so operators whose migration user lacks
CREATEROLE can create it beforehand; downgrade drops it only if this
migration created it. SQLite: triggers refuse UPDATE and DELETE.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from core.settings import DEFAULT_SERVICE_ROLE
from storage.database import validate_identifier

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_MARKER = "ucp-connector service role (created by migration 0001)"


def _role() -> str:
    role = context.config.attributes.get("service_role") or DEFAULT_SERVICE_ROLE
    return validate_identifier(role, "service role")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("platform_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("occurred_at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("request_digest", sa.String(128), nullable=True),
        sa.Column("response_digest", sa.String(128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_audit_events_session_id_seq")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_events_seq_positive")),
    )
    op.create_index(op.f("ix_audit_events_platform_id_session_id"), "audit_events", ["platform_id", "session_id"])
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("merchant_checkout_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sessions")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_sessions_version_non_negative")),
    )
    op.create_index(
        op.f("ix_sessions_platform_id_created_at_session_id"), "sessions", ["platform_id", "created_at", "session_id"]
    )
    op.create_index(
        op.f("ix_sessions_platform_id_status_created_at_session_id"),
        "sessions",
        ["platform_id", "status", "created_at", "session_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_append_only(_role())
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def _postgresql_append_only(role: str) -> None:
    op.execute(
        """
        CREATE FUNCTION ucp_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION ucp_audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION ucp_audit_events_append_only()"
    )
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN;
                COMMENT ON ROLE "{role}" IS '{ROLE_MARKER}';
            END IF;
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO "{role}"', current_schema());
        END $$
        """
    )
    op.execute(f'GRANT SELECT, INSERT ON audit_events TO "{role}"')
    op.execute(f'GRANT USAGE ON SEQUENCE audit_events_id_seq TO "{role}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON sessions TO "{role}"')
    op.execute(f'GRANT SELECT ON alembic_version TO "{role}"')


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION ucp_audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.drop_index(op.f("ix_sessions_platform_id_status_created_at_session_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_platform_id_created_at_session_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_audit_events_platform_id_session_id"), table_name="audit_events")
    op.drop_table("audit_events")
    if postgresql:
        role = _role()
        op.execute(
            f"""
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                    EXECUTE 'REVOKE ALL ON alembic_version FROM "{role}"';
                    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM "{role}"', current_schema());
                END IF;
                IF EXISTS (
                    SELECT 1 FROM pg_roles r
                    WHERE r.rolname = '{role}' AND shobj_description(r.oid, 'pg_authid') = '{ROLE_MARKER}'
                ) THEN
                    BEGIN
                        DROP ROLE "{role}";
                    EXCEPTION WHEN dependent_objects_still_exist THEN
                        RAISE NOTICE 'role {role} still holds privileges elsewhere; kept';
                    END;
                END IF;
            END $$
            """
        )
