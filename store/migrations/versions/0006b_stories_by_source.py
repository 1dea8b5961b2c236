"""Story lists of one source newest first (the web page's ``?source=``, ``defwatch stories
list --source``) read from an index in their order instead of sorting the source's stories.

Revision ID: 0006b_search
Revises: 0006_search
"""

from alembic import op

revision = "0006b_search"
down_revision = "0006_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_stories_source_shown ON stories (source, coalesce(published, fetched) DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_stories_source_shown")
