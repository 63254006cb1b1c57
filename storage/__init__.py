"""Audit log and session index (SQLAlchemy 2 + Alembic; PostgreSQL in production, SQLite embedded)."""
