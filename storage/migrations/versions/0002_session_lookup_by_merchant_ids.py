"""Find a session from the merchant's ids: order webhooks name the merchant's checkout, GET order its order id.

Adds ``sessions.order_id`` and two lookup indexes, (merchant_id,
merchant_checkout_id) and (merchant_id, order_id). Lookups are always scoped
by merchant (ORD-21: a webhook may only touch sessions of the merchant that
signed it) and, for platform reads, by platform.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("order_id", sa.String(255), nullable=True))
        batch.create_index("ix_sessions_merchant_id_merchant_checkout_id", ["merchant_id", "merchant_checkout_id"])
        batch.create_index("ix_sessions_merchant_id_order_id", ["merchant_id", "order_id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_merchant_id_order_id")
        batch.drop_index("ix_sessions_merchant_id_merchant_checkout_id")
        batch.drop_column("order_id")
