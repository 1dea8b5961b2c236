"""Ranking movements: one row per story movement between consecutive valid snapshots;
a covering index for one story's rank history.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ranking_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("ranking_snapshots.id", ondelete="CASCADE", name="fk_ranking_events_snapshot_id_ranking_snapshots"), nullable=False),
        sa.Column("previous_snapshot_id", sa.Integer, sa.ForeignKey("ranking_snapshots.id", ondelete="SET NULL", name="fk_ranking_events_previous_snapshot_id_ranking_snapshots")),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer),
        sa.Column("previous_rank", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_ranking_events"),
    )
    op.create_index("uq_ranking_events_snapshot_kind_url_key", "ranking_events", ["snapshot_id", "kind", "url_key"], unique=True)
    op.create_index("ix_ranking_events_source_window_at", "ranking_events", ["source", "window", "at"])
    op.create_index("ix_ranking_events_window_at", "ranking_events", ["window", "at"])
    op.create_index("ix_ranking_events_url_key_window_at", "ranking_events", ["url_key", "window", "at"])
    op.create_index("ix_ranking_events_previous_snapshot_id", "ranking_events", ["previous_snapshot_id"])
    op.create_index("ix_ranking_entries_url_key_snapshot_rank", "ranking_entries", ["url_key", "snapshot_id", "rank"])


def downgrade() -> None:
    op.drop_index("ix_ranking_entries_url_key_snapshot_rank", table_name="ranking_entries")
    op.drop_table("ranking_events")
