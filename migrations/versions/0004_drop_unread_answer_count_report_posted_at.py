"""drop daily_posts.answer_count (written, never read); weekly_reports.posted_at

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_posts", schema=None) as batch_op:
        batch_op.drop_column("answer_count")
    with op.batch_alter_table("weekly_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("weekly_reports", schema=None) as batch_op:
        batch_op.drop_column("posted_at")
    with op.batch_alter_table("daily_posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answer_count", sa.Integer(), nullable=False, server_default="0")
        )
