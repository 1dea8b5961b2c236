"""Feeds from real crawls: ``defwatch crawl`` reads the J-Defense and ministry imitations on
127.0.0.1 (epoch 0, then epoch 1), ``defwatch feeds`` builds, and a feed reader's parser
reads every file. The release both sites carry is one entry; rankings give movements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest

from imitations import shared_story
from imitations.jdefense import JDefenseSite
from imitations.jdefense import data as jd
from imitations.mod import ModSite
from imitations.server import SiteServer
from tests.conftest import Defwatch

FEEDS = [
    "all",
    "sources/jdefense",
    "sources/mod",
    "rules/asean",
    "rules/jinji",
    *(f"ranking/{w}" for w in jd.WINDOWS),
]
FILES = [f"{feed}.{fmt}" for feed in FEEDS for fmt in ("rss", "atom")]


@dataclass
class Crawled:
    public: Path
    jdefense: str  # base URLs of the imitations
    mod: str
    ids_after_first: dict[str, set[str]]  # file -> entry ids after the epoch-0 crawl

    def parse(self, name: str) -> feedparser.FeedParserDict:
        parsed = feedparser.parse((self.public / name).read_bytes())
        assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
        return parsed


def crawl_and_build(defwatch: Defwatch) -> None:
    crawl = defwatch("crawl", timeout=300)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    feeds = defwatch("feeds")
    assert feeds.returncode == 0, feeds.stderr[-3000:]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("crawled")
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as server:
        defwatch = Defwatch(folder)
        defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///{folder / "defwatch.db"}"

            [crawl]
            allow_private = true  # the test site is on 127.0.0.1
            autothrottle = false

            [[sources]]
            name = "jdefense"
            kind = "jdefense"
            url = "{server.url("jdefense")}"
            sections = ["mod", "world"]

            [[sources]]
            name = "mod"
            kind = "mod"
            url = "{server.url("mod")}"
            jinji = ["/j/press/jinji/2025/index.html"]

            [[rules]]
            name = "asean"
            keywords = ["ASEAN", "東南アジア諸国連合"]

            [[rules]]
            name = "jinji"
            keywords = ["人事発令"]
            fields = ["title"]
            """
        )
        crawl_and_build(defwatch)
        public = folder / "public"
        first = {
            name: {e.id for e in feedparser.parse((public / name).read_bytes()).entries} for name in FILES
        }
        server.set_epoch(1)
        crawl_and_build(defwatch)
        yield Crawled(public, server.url("jdefense", ""), server.url("mod", ""), first)


@pytest.mark.parametrize("name", FILES)
def test_every_file_is_a_valid_feed(crawled: Crawled, name: str) -> None:
    crawled.parse(name)


@pytest.mark.parametrize("name", [n for n in FILES if not n.startswith("ranking/")])
def test_ids_survive_the_next_crawl(crawled: Crawled, name: str) -> None:
    now = {e.id for e in crawled.parse(name).entries}
    assert crawled.ids_after_first[name] and crawled.ids_after_first[name] <= now


def test_the_release_both_sites_carry_is_one_entry(crawled: Crawled) -> None:
    release = f"{crawled.mod}{shared_story.MOD_PATH}"
    article = f"{crawled.jdefense}/docs/mod/{jd.SHARED_STORY_ID}.html"
    entries = crawled.parse("all.atom").entries
    links = [e.link for e in entries]
    assert links.count(release) == 1 and article not in links
    [entry] = [e for e in entries if e.link == release]
    assert article in entry.content[0].value
    assert release in [e.link for e in crawled.parse("sources/jdefense.atom").entries]
    assert release in [e.link for e in crawled.parse("rules/asean.atom").entries]


def test_ministry_dates_are_jst(crawled: Crawled) -> None:
    rss = (crawled.public / "sources/mod.rss").read_text()
    assert f"<pubDate>{shared_story.MOD_PUBDATE}</pubDate>" in rss


def test_ranking_feeds_show_the_movements_of_the_second_crawl(crawled: Crawled) -> None:
    entries = crawled.parse("ranking/24h.atom").entries
    assert entries and all(e.published.endswith("+09:00") for e in entries)
    assert {e.title.split(":", 1)[0].split(" ", 1)[0] for e in entries} <= {
        "New",
        "Entered",
        "Back",
        "Up",
        "Down",
        "Left",
    }


def test_personnel_orders_fill_the_title_rule(crawled: Crawled) -> None:
    titles = [e.title for e in crawled.parse("rules/jinji.atom").entries]
    assert titles and all("人事発令" in t for t in titles)
