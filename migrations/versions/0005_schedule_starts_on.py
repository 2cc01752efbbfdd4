"""subscriptions.starts_on: a schedule set after today's posting time starts tomorrow

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("starts_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE subscriptions DROP COLUMN starts_on")
