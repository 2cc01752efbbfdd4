"""lookup_events, lookup_picks, team_aliases: lookup that learns from its users

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lookup_events_team_time", "lookup_events", ["team_id", "created_at"])
    op.create_index("ix_lookup_events_created_at", "lookup_events", ["created_at"])
    op.create_table(
        "lookup_picks",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("concept_id", sa.String(length=128), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "key", "user_id"),
    )
    op.create_index("ix_lookup_picks_picked_at", "lookup_picks", ["picked_at"])
    op.create_table(
        "team_aliases",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("concept_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("team_aliases")
    op.drop_index("ix_lookup_picks_picked_at", table_name="lookup_picks")
    op.drop_table("lookup_picks")
    op.drop_index("ix_lookup_events_created_at", table_name="lookup_events")
    op.drop_index("ix_lookup_events_team_time", table_name="lookup_events")
    op.drop_table("lookup_events")
