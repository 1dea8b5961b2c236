"""Stories, their revisions, crawl runs and conditional-request state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("section", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("published", UTCDateTime),
        sa.Column("fetched", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("text_norm", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.UniqueConstraint("url_key", name="uq_stories_url_key"),
    )
    op.create_index("ix_stories_source", "stories", ["source"])
    op.create_index("ix_stories_published", "stories", ["published"])
    op.create_table(
        "story_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE", name="fk_story_revisions_story_id_stories"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("valid_from", UTCDateTime, nullable=False),
        sa.Column("replaced_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_revisions"),
    )
    op.create_index("ix_story_revisions_story_id", "story_revisions", ["story_id"])
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started", UTCDateTime, nullable=False),
        sa.Column("finished", UTCDateTime),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("new_stories", sa.Integer, nullable=False),
        sa.Column("revised", sa.Integer, nullable=False),
        sa.Column("known_skipped", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
    )
    op.create_index("ix_crawl_runs_source_started", "crawl_runs", ["source", "started"])
    op.create_table(
        "http_state",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("checked", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("url", name="pk_http_state"),
    )


def downgrade() -> None:
    op.drop_table("http_state")
    op.drop_table("crawl_runs")
    op.drop_table("story_revisions")
    op.drop_table("stories")
