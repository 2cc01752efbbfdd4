"""workspaces: installs and uninstalls (the grace period before an uninstalled workspace's
data is deleted) and the lease of a token rotation in progress

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotating_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotation_owner", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_index("ix_workspaces_uninstalled", "workspaces", ["uninstalled_at"])


def downgrade() -> None:
    op.drop_index("ix_workspaces_uninstalled", table_name="workspaces")
    op.drop_table("workspaces")
