"""daily_posts.refreshed_at: one count refresh per interval for all processes together

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "daily_posts", sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE daily_posts DROP COLUMN refreshed_at")  # no table rebuild
