"""Full-text search (store/search.py): on SQLite an FTS5 trigram index over stories.text_norm,
kept by triggers in the transaction that writes a story, and filled from the stories
already stored; on every database an index for the order story lists are shown in.

Note for later migrations: a batch (copy-and-rename) alteration of ``stories`` on SQLite
drops these triggers with the old table; such a migration must create them again
(``create_sqlite_search()``).

Revision ID: 0006_search
Revises: 0002
"""

from alembic import op

revision = "0006_search"
down_revision = "0002"
branch_labels = None
depends_on = None

TRIGGERS = {
    "story_search_ai": """
        CREATE TRIGGER story_search_ai AFTER INSERT ON stories BEGIN
            INSERT INTO story_search(rowid, text_norm) VALUES (new.id, new.text_norm);
        END""",
    "story_search_ad": """
        CREATE TRIGGER story_search_ad AFTER DELETE ON stories BEGIN
            INSERT INTO story_search(story_search, rowid, text_norm) VALUES ('delete', old.id, old.text_norm);
        END""",
    "story_search_au": """
        CREATE TRIGGER story_search_au AFTER UPDATE OF text_norm ON stories BEGIN
            INSERT INTO story_search(story_search, rowid, text_norm) VALUES ('delete', old.id, old.text_norm);
            INSERT INTO story_search(rowid, text_norm) VALUES (new.id, new.text_norm);
        END""",
}


def create_sqlite_search() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE story_search USING fts5("
        "text_norm, content='stories', content_rowid='id', tokenize='trigram')"
    )
    for sql in TRIGGERS.values():
        op.execute(sql)
    # Backfill: index every story already stored.
    op.execute("INSERT INTO story_search(story_search) VALUES ('rebuild')")


def upgrade() -> None:
    # Story lists (web page, `stories list`, search results) are ordered by this.
    op.execute("CREATE INDEX ix_stories_shown ON stories (coalesce(published, fetched) DESC, id DESC)")
    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS story_search")
    op.execute("DROP INDEX IF EXISTS ix_stories_shown")
