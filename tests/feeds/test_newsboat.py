"""A real feed reader: newsboat reloads the served feeds non-interactively and keeps what it
read in SQLite, so the test reads its cache. Skipped where newsboat is not installed
(Debian package ``newsboat``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.build import story_id
from store import StoryIn, url_key
from tests.conftest import Defwatch
from tests.feeds.conftest import Server, Site
from tests.feeds.data import HOSTILE_TITLE, HOSTILE_URL, JDEFENSE_URL

# .ci/run installs newsboat, so in CI its absence is a failure, not a skip; a developer's
# machine without it skips this one reader check.
pytestmark = pytest.mark.skipif(
    shutil.which("newsboat") is None and not os.environ.get("CI"),
    reason="newsboat is not installed (apt-get install newsboat)",
)

FEEDS = ("all.atom", "sources/mod.rss", "rules/asean.atom")
ARTICLE = f"{JDEFENSE_URL}/docs/mod/004400.html"  # 2025-10-3 09:00 JST


def reload(home: Path, port: int, feeds: tuple[str, ...] = FEEDS) -> None:
    (home / "urls").write_text("".join(f"http://127.0.0.1:{port}/{name}\n" for name in feeds))
    (home / "config").write_text("")
    subprocess.run(
        ["newsboat", "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"],
        cwd=home,
        env={**os.environ, "HOME": str(home), "LANG": "C.UTF-8"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )


def items(home: Path) -> dict[str, dict[str, object]]:
    """What newsboat stored, by guid. It keeps one item per guid whatever the feed, so a
    story shown in several feeds under one id is one item."""
    with sqlite3.connect(home / "cache.db") as db:
        rows = db.execute("SELECT guid, title, url, pubDate FROM rss_item").fetchall()
    return {
        guid: {"title": title, "url": url, "published": published} for guid, title, url, published in rows
    }


def test_newsboat_reads_the_feeds_and_keeps_one_item_per_story(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.build()
    home = tmp_path / "reader"
    home.mkdir()
    server = Server(Defwatch(tmp_path))
    try:
        reload(home, server.port)
        first = items(home)
        assert set(first) == {e.id for name in FEEDS for e in site.parse(name).entries}
        assert first[story_id(url_key(HOSTILE_URL))]["title"] == HOSTILE_TITLE  # text, not markup
        article = first[story_id(url_key(ARTICLE))]
        assert article["url"] == ARTICLE
        assert article["published"] == datetime(2025, 10, 3, 0, 0, tzinfo=UTC).timestamp()

        site.store.save_story(
            StoryIn(
                url=ARTICLE, source="jdefense", title="人事発令(訂正版)", body="訂正した本文。", section="mod"
            )
        )
        site.build()
        reload(home, server.port)
        second = items(home)
        assert set(second) == set(first)  # the revision is the same item, updated
        assert second[story_id(url_key(ARTICLE))]["title"] == "人事発令(訂正版)"
    finally:
        assert server.stop() == 0
        site.store.close()


def test_a_story_in_all_and_in_a_rule_feed_shows_in_both(tmp_path: Path) -> None:
    # newsboat keeps one item per guid across subscriptions: with one id for a story in
    # every feed, the feed reloaded first lost the items the second one also carried.
    site = Site(tmp_path)
    site.build()
    home = tmp_path / "reader"
    home.mkdir()
    server = Server(Defwatch(tmp_path))
    feeds = ("all.rss", "rules/asean.rss", "sources/mod.rss")
    try:
        reload(home, server.port, feeds)
        with sqlite3.connect(home / "cache.db") as db:
            rows = db.execute("SELECT feedurl, url FROM rss_item").fetchall()
        for name in feeds:
            shown = sorted(url for feed, url in rows if feed == f"http://127.0.0.1:{server.port}/{name}")
            assert shown == sorted(e.link for e in site.parse(name).entries), name
            assert shown, name
    finally:
        assert server.stop() == 0
        site.store.close()
