"""Search words of one or two characters on SQLite (store/search.py): the trigram index holds
every three characters of a story, so the stories with a short word are those with a trigram
beginning with it (listed by ``story_search_terms``, an fts5vocab table over ``story_search``:
a view of the index, nothing stored) or ending with it (two small indexes on the last one and
two characters of ``text_norm``). Nothing on other databases.

Revision ID: 0009_short_words
Revises: 0006b_search
"""

from alembic import op

revision = "0009_short_words"
down_revision = "0006b_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE story_search_terms USING fts5vocab(story_search, 'row')")
    op.execute("CREATE INDEX ix_stories_tail2 ON stories (substr(text_norm, -2))")
    op.execute("CREATE INDEX ix_stories_tail1 ON stories (substr(text_norm, -1))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_stories_tail1")
    op.execute("DROP INDEX IF EXISTS ix_stories_tail2")
    op.execute("DROP TABLE IF EXISTS story_search_terms")
