"""Schema migrations: empty to current, idempotent, and an older database keeps its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from store import Store, StoreError, StoryIn, head_revisions


def test_empty_database_is_migrated_to_head(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    assert store.current_revisions() == head_revisions()
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "stories",
        "story_revisions",
        "story_links",
        "crawl_runs",
        "http_state",
        "ranking_snapshots",
        "ranking_entries",
        "deliveries",
    } <= tables
    store.close()


def test_opening_twice_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    with Store.open(url) as first:
        first.save_story(StoryIn(url="https://example.org/a", source="s", title="A", body="text"))
    with Store.open(url) as second:
        assert second.current_revisions() == head_revisions()
        assert second.count_stories() == 1


def test_database_from_an_earlier_revision_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, revision="0001")
    assert old.current_revisions() == {"0001"}
    assert "deliveries" not in inspect(old.engine).get_table_names()
    published = datetime(2025, 10, 17, 7, 0, tzinfo=UTC)
    # Written as the code of revision 0001 wrote it (today's save_story writes later columns).
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stories (url, url_key, source, kind, title, published, fetched, updated,"
                " summary, body, text_norm, content_hash, complete, extra) VALUES (:url, :key, 'mod',"
                " 'article', '発表', :published, :published, :published, '', '本文', '', 'x', 1, '{}')"
            ),
            {
                "url": "https://www.mod.go.jp/j/press/news/2025/10/17a.html",
                "key": "//www.mod.go.jp/j/press/news/2025/10/17a.html",
                "published": published.replace(tzinfo=None),
            },
        )
    run_id = old.start_run("mod")
    old.close()

    upgraded = Store.open(url)
    assert upgraded.current_revisions() == head_revisions()
    story = upgraded.get_story("https://www.mod.go.jp/j/press/news/2025/10/17a.html")
    assert story is not None and story["title"] == "発表" and story["published"] == published
    assert story["link"] == "https://www.mod.go.jp/j/press/news/2025/10/17a.html"  # 0006_link backfill
    assert upgraded.run(run_id) is not None
    assert "deliveries" in inspect(upgraded.engine).get_table_names()
    upgraded.close()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'wal.db'}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_times_come_back_timezone_aware(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'tz.db'}") as store:
        jst_time = datetime.fromisoformat("2025-10-21T08:55:00+09:00")
        store.save_story(StoryIn(url="https://x.org/1", source="s", title="t", published=jst_time))
        got = store.get_story("https://x.org/1")
        assert got is not None
        assert got["published"] == jst_time and got["published"].tzinfo is not None
        with pytest.raises(Exception, match="naive datetime"):
            store.save_story(
                StoryIn(url="https://x.org/2", source="s", title="t", published=datetime(2025, 1, 1))
            )


def test_unusable_store_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create folder"):
        Store.open(f"sqlite:///{blocker / 'sub' / 'x.db'}")
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(f"sqlite:///{tmp_path}")
