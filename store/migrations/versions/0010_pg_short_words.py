"""Search words of one or two characters on PostgreSQL (store/search.py): pg_trgm cannot look
up a word under three characters, so such a word alone scanned the stories. ``story_grams``
gives the distinct characters and pairs of adjacent characters of a text (an IMMUTABLE SQL
function of ``text_norm`` alone), and the GIN index ``ix_stories_grams`` on it answers
``story_grams(text_norm) @> ARRAY['日豪']``: an expression index, so it is kept up to date
by the transaction that saves the story, as every index is. Nothing on other databases
(SQLite has 0009_short_words).

Revision ID: 0010_pg_short_words
Revises: 0007_pg_search
"""

from alembic import op

revision = "0010_pg_short_words"
down_revision = "0007_pg_search"
branch_labels = None
depends_on = None

# COST 10000: the planner evaluates it only where it must (it reads the index; as a filter
# it would cut every text it reads into pairs), and after cheaper conditions such as LIKE.
GRAMS = """
CREATE FUNCTION story_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 10000 AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM generate_series(1, char_length(t)) AS i,
         LATERAL (VALUES (substr(t, i, 1) COLLATE "C"), (substr(t, i, 2) COLLATE "C")) AS v(g)
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GRAMS)
    op.execute("CREATE INDEX ix_stories_grams ON stories USING gin (story_grams(text_norm))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_stories_grams")
    op.execute("DROP FUNCTION IF EXISTS story_grams(text)")
