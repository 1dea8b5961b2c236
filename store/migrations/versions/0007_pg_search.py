"""Search on PostgreSQL (store/search.py): a pg_trgm GIN index over stories.text_norm, so the
LIKE substring search of words of three characters or more is an index lookup (Japanese has no
spaces between words: trigrams, not a word-based tsvector). Nothing on other databases.

Where the server will not create the extension (pg_trgm is a trusted extension from
PostgreSQL 13, so the store's owner may; older servers need a superuser), search still works
by scanning: `defwatch status` and the web page name the backend in use.

Revision ID: 0007_pg_search
Revises: 0001 (a branch of its own: it needs only the stories table)
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0007_pg_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        return  # no extension: search scans (store.search.backend tells)
    op.execute("CREATE INDEX ix_stories_text_trgm ON stories USING gin (text_norm gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_stories_text_trgm")
