"""``defwatch feeds`` as a user runs it: one line saying what was written."""

from __future__ import annotations

import feedparser

from store import Store
from tests.conftest import Defwatch
from tests.feeds.data import fill, make_config


def test_feeds_builds_then_finds_nothing_to_write(defwatch: Defwatch) -> None:
    config = make_config(defwatch.cwd)
    with Store.open(config.store.url) as store:
        fill(store)
    first = defwatch("feeds")
    assert first.returncode == 0, first.stderr
    assert "12 feeds (rss/atom) and index.opml" in first.stdout and "25 written" in first.stdout
    parsed = feedparser.parse((defwatch.cwd / "public" / "all.atom").read_bytes())
    assert not parsed.bozo and parsed.entries
    second = defwatch("feeds")
    assert second.returncode == 0
    assert "0 written, 25 unchanged" in second.stdout


def test_feeds_on_an_empty_store_with_the_defaults(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("feeds")
    assert result.returncode == 0, result.stderr
    for name in ("all.rss", "sources/jdefense.atom", "sources/mod.rss", "ranking/1m.atom", "index.opml"):
        assert (defwatch.cwd / "public" / name).exists()
    parsed = feedparser.parse((defwatch.cwd / "public" / "all.rss").read_bytes())
    assert not parsed.bozo and parsed.entries == []


def test_an_unwritable_feed_folder_is_one_line(defwatch: Defwatch) -> None:
    (defwatch.cwd / "blocker").write_text("a file where the feed folder should be")
    defwatch.write_config('[feeds]\ndir = "blocker/public"\n')
    defwatch.create_store()
    result = defwatch("feeds")
    assert result.returncode == 2
    assert result.stderr.startswith("defwatch: feeds: cannot write to blocker/public")
    assert len(result.stderr.strip().splitlines()) == 1
