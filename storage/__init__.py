"""Audit log and session index (SQLAlchemy 2 + Alembic; PostgreSQL in production, SQLite embedded).

Use :class:`storage.repository.Repository` -- the one API for activities and
the connector API. ``audit`` defines the hashed event and the chain,
``sessions`` the listing projection, ``verify`` the chain check behind
``ucp-connector audit verify``, ``migrate`` the Alembic runner behind
``ucp-connector migrate``, ``errors`` the typed failure modes. Operators:
storage/README.md.
"""
