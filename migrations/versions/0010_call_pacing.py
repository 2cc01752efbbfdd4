"""call_pacing: the Slack rate-limit budget shared by every process

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_pacing",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "bucket"),
    )


def downgrade() -> None:
    op.drop_table("call_pacing")
