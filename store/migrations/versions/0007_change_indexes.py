"""Indexes for "what changed since": stories by ``updated`` and links by ``linked_at``, so
the check after every crawl (store.feeds.changed_since: which feeds to rebuild) reads the
few recent rows instead of every story.

Revision ID: 0007_indexes
Revises: 0003
"""

from alembic import op

revision = "0007_indexes"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stories_updated", "stories", ["updated"])
    op.create_index("ix_story_links_linked_at", "story_links", ["linked_at"])


def downgrade() -> None:
    op.drop_index("ix_story_links_linked_at", table_name="story_links")
    op.drop_index("ix_stories_updated", table_name="stories")
