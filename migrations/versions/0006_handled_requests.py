"""handled_requests: event redeliveries and replayed commands act once, in every process;
daily_posts.revealed_at: a reveal that failed is retried

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_requests",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_handled_requests_handled_at"), "handled_requests", ["handled_at"], unique=False
    )
    op.add_column(
        "daily_posts", sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True)
    )
    # questions closed before this revision were revealed (or given up) already
    op.execute("UPDATE daily_posts SET revealed_at = closed_at WHERE status = 'closed'")


def downgrade() -> None:
    op.execute("ALTER TABLE daily_posts DROP COLUMN revealed_at")  # no table rebuild
    op.drop_index(op.f("ix_handled_requests_handled_at"), table_name="handled_requests")
    op.drop_table("handled_requests")
