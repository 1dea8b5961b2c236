"""Cross-source story links, ranking snapshots and the alert outbox.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("origin_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE", name="fk_story_links_origin_id_stories"), nullable=False),
        sa.Column("copy_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE", name="fk_story_links_copy_id_stories"), nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("linked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_links"),
        sa.UniqueConstraint("copy_id", name="uq_story_links_copy_id"),
    )
    op.create_index("ix_story_links_origin_id", "story_links", ["origin_id"])
    op.create_table(
        "ranking_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("taken_at", UTCDateTime, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("crawl_runs.id", ondelete="SET NULL", name="fk_ranking_snapshots_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name="pk_ranking_snapshots"),
    )
    op.create_index("ix_ranking_snapshots_source_window_taken", "ranking_snapshots", ["source", "window", "taken_at"])
    op.create_table(
        "ranking_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("ranking_snapshots.id", ondelete="CASCADE", name="fk_ranking_entries_snapshot_id_ranking_snapshots"), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ranking_entries"),
    )
    op.create_index("ix_ranking_entries_snapshot_rank", "ranking_entries", ["snapshot_id", "rank"])
    op.create_index("ix_ranking_entries_url_key", "ranking_entries", ["url_key", "snapshot_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="SET NULL", name="fk_deliveries_story_id_stories")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("next_attempt", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("ranking_entries")
    op.drop_table("ranking_snapshots")
    op.drop_table("story_links")
