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
    # a plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild of daily_posts on
    # SQLite would drop the table that answers.post_id refers to, which foreign keys refuse
    op.execute("ALTER TABLE daily_posts DROP COLUMN answer_count")
    op.add_column(
        "weekly_reports", sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE weekly_reports DROP COLUMN posted_at")
    op.add_column(
        "daily_posts",
        sa.Column("answer_count", sa.Integer(), nullable=False, server_default="0"),
    )
