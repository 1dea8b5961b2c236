"""The desk's web page in a real browser: Debian's chromium (headless, driven by Playwright
over CDP, no browser download) reads what ``defwatch serve`` serves after ``defwatch crawl``
read the J-Defense and ministry imitations on 127.0.0.1 twice (epoch 0, then 1).

Every page load is watched: no request may leave the server's host and the browser's
console must stay free of errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from core.text import normalize
from imitations import shared_story
from imitations.jdefense import JDefenseSite
from imitations.jdefense import data as jd
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store
from tests.conftest import Defwatch

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by .ci/run")


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    db: Path
    jdefense: str
    mod: str


@dataclass
class Watched:
    """What the browser did while the tests ran."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def crawl_and_build(defwatch: Defwatch) -> None:
    crawl = defwatch("crawl", timeout=300)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    feeds = defwatch("feeds")
    assert feeds.returncode == 0, feeds.stderr[-3000:]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("web")
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as sites:
        defwatch = Defwatch(folder)
        defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///{folder / "defwatch.db"}"

            [crawl]
            allow_private = true  # the imitation sites are on 127.0.0.1
            autothrottle = false

            [[sources]]
            name = "jdefense"
            kind = "jdefense"
            url = "{sites.url("jdefense")}"
            sections = ["mod", "world"]

            [[sources]]
            name = "mod"
            kind = "mod"
            url = "{sites.url("mod")}"
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
        sites.set_epoch(1)
        crawl_and_build(defwatch)
        jdefense, mod = sites.url("jdefense", ""), sites.url("mod", "")
    # The imitations are gone: anything the page still fetched from them would fail.
    server = defwatch.popen("serve", "--port", "0")
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, (line, server.stderr.read() if server.poll() is not None and server.stderr else "")
        yield Served(f"http://127.0.0.1:{found.group(1)}", folder / "defwatch.db", jdefense, mod)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def watched() -> Watched:
    return Watched()


@pytest.fixture(scope="module")
def browser(watched: Watched) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, timeout=120_000)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: Served, watched: Watched) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("request", lambda r: watched.requests.append(r.url))
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.console_errors.append(str(e)))
    yield page
    context.close()
    host = urlsplit(served.base).netloc
    away = [u for u in watched.requests if urlsplit(u).netloc != host and not u.startswith("data:")]
    assert not away, f"requests left {host}: {away}"
    assert not watched.console_errors, watched.console_errors


def open_page(page: Any, served: Served, path: str, status: int = 200) -> Any:
    response = page.goto(served.base + path)
    assert response is not None and response.status == status, (path, response and response.status)
    return response


def listed_ids(page: Any) -> list[int]:
    hrefs = page.eval_on_selector_all("ol.stories li .title a", "els => els.map(e => e.getAttribute('href'))")
    return [int(h.rsplit("/", 1)[1]) for h in hrefs]


def matching_ids(db: Path, term: str) -> set[int]:
    """The oracle: stories whose normalized title, summary and body contain the term (plain
    Python, no index)."""
    with Store.open(f"sqlite:///{db}") as store:
        return {
            s["id"]
            for s in store.stories()
            if normalize(term) in normalize(f"{s['title']}\n{s['summary']}\n{s['body']}")
        }


def test_latest_stories_are_listed_newest_first_with_source_time_rules_and_copies(
    page: Any, served: Served
) -> None:
    open_page(page, served, "/")
    assert "最新記事" in page.title()
    with Store.open(f"sqlite:///{served.db}") as store:
        newest = [s["id"] for s in store.stories(limit=50)]
        total = store.count_stories()
        release = store.get_story(served.mod + shared_story.MOD_PATH)
    ids = listed_ids(page)
    assert len(ids) == min(50, total) and set(ids) == set(newest)
    text = page.inner_text("main")
    assert "JST" in text and "jdefense" in text and "mod" in text
    assert release is not None
    if release["id"] in ids:
        item = page.locator("ol.stories li", has=page.locator(f'a[href="/stories/{release["id"]}"]'))
        assert "asean" in item.inner_text() and "jdefense" in item.inner_text()
    # Filters: one source, one rule.
    open_page(page, served, "/?source=mod")
    sources = page.eval_on_selector_all("ol.stories .source", "els => els.map(e => e.textContent)")
    assert sources and set(sources) == {"mod"}
    open_page(page, served, "/?rule=jinji")
    titles = page.eval_on_selector_all("ol.stories .title a", "els => els.map(e => e.textContent)")
    assert titles and all("人事発令" in t for t in titles)
    # The rule feed is offered for subscription.
    assert page.locator('link[rel=alternate][href="/rules/jinji.rss"]').count() == 1


@pytest.mark.parametrize("term", ["ASEAN", "ＡＳＥＡＮ", "人事発令", "日ASEAN防衛"])
def test_search_lists_exactly_the_matching_stories(page: Any, served: Served, term: str) -> None:
    expected = matching_ids(served.db, term)
    assert expected, term
    open_page(page, served, "/search?q=" + quote(term))
    assert set(listed_ids(page)) == expected
    assert page.locator("a[rel=next]").count() == 0
    marks = page.eval_on_selector_all("ol.stories mark", "els => els.map(e => e.textContent)")
    assert marks and all(normalize(m) in normalize(term) for m in marks)


def test_fullwidth_and_halfwidth_find_the_same(page: Any, served: Served) -> None:
    open_page(page, served, "/search?q=ASEAN")
    half = listed_ids(page)
    open_page(page, served, "/search?q=" + quote("ＡＳＥＡＮ"))
    assert listed_ids(page) == half
    with Store.open(f"sqlite:///{served.db}") as store:
        fullwidth_titles = {
            s["id"] for s in store.stories() if "ＡＳＥＡＮ" in s["title"] and s["source"] == "jdefense"
        }
    assert fullwidth_titles and fullwidth_titles <= set(half)


def test_two_character_words_are_found(page: Any, served: Served) -> None:
    expected = matching_ids(served.db, "人事")
    open_page(page, served, "/search?q=" + quote("人事"))
    assert expected and set(listed_ids(page)) == expected


def test_the_cross_source_story_shows_both_urls_with_the_origin(page: Any, served: Served) -> None:
    release_url = served.mod + shared_story.MOD_PATH
    article_url = f"{served.jdefense}/docs/mod/{jd.SHARED_STORY_ID}.html"
    with Store.open(f"sqlite:///{served.db}") as store:
        article = store.get_story(article_url)
    assert article is not None
    open_page(page, served, f"/stories/{article['id']}")
    assert page.inner_text("#story-title") == shared_story.JDEFENSE_TITLE
    urls = page.inner_text("#urls")
    assert release_url in urls and article_url in urls
    origin_row = page.locator("#urls tr", has=page.locator(f'a[href="{release_url}"]'))
    assert "元記事" in origin_row.inner_text()
    assert "asean" in page.inner_text("main")
    assert "順位の履歴" in page.inner_text("main")  # it is the 24h #1


def test_rankings_show_the_number_one_and_the_chart(page: Any, served: Served) -> None:
    open_page(page, served, "/rankings?window=24h")
    first = jd.BY_ID[jd.rankings_at(1)["24h"][0]]
    section = page.locator("section.ranking[data-source=jdefense]")
    assert first.title in section.locator("tr.rank-1").inner_text()
    chart = section.locator("svg.chart")
    assert chart.count() == 1 and chart.locator("polyline").count() >= 1
    assert chart.bounding_box()["width"] > 200
    assert "最近の動き" in page.inner_text("main")
    assert page.locator("#movements tr").count() > 1


def test_health_names_every_source(page: Any, served: Served) -> None:
    open_page(page, served, "/health")
    for name in ("jdefense", "mod"):
        section = page.locator(f"#source-{name}")
        assert section.count() == 1
        assert "正常" in section.inner_text() or "一部失敗" in section.inner_text()
    assert "送信待ち" in page.inner_text("#outbox-counts")


def test_feed_links_lead_to_feeds(page: Any, served: Served) -> None:
    open_page(page, served, "/feeds")
    hrefs = page.eval_on_selector_all("#feed-list a", "els => els.map(e => e.getAttribute('href'))")
    assert "/all.rss" in hrefs and "/rules/asean.atom" in hrefs and "/sources/mod.rss" in hrefs
    response = page.request.get(served.base + "/all.rss")
    assert response.status == 200 and "rss" in response.headers["content-type"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/search?q=" + quote('"'), 200, "一致する記事はありません"),
        ("/search?q=" + quote("NEAR(a b) OR * AND"), 200, "一致する記事はありません"),
        ("/search?q=" + quote("'; DROP TABLE stories; --"), 200, "一致する記事はありません"),
        ("/search?q=" + "x" * 10_000, 400, "長すぎます"),
        ("/search?q=" + quote("ASEAN\x00\x07"), 400, "制御文字"),
        ("/stories/99999999", 404, "ありません"),
        ("/stories/abc", 404, "見つかりません"),
        ("/stories/../../etc/passwd", 404, "見つかりません"),
        ("/%2e%2e/%2e%2e/etc/passwd", 404, "見つかりません"),
        ("/?page=99999999999999999999", 400, "ページ番号"),
        ("/?page=-1", 400, "ページ番号"),
        ("/?page=999", 404, "記事はありません"),
        ("/?source=nowhere", 400, "ありません"),
        ("/rankings?window=2y", 400, "ありません"),
    ],
)
def test_bad_input_gets_a_clear_page(
    page: Any, served: Served, watched: Watched, path: str, status: int, says: str
) -> None:
    open_page(page, served, path, status)
    # The browser reports the page's own status as a console error; nothing else may be one.
    expected = f"Failed to load resource: the server responded with a status of {status}"
    watched.console_errors[:] = [e for e in watched.console_errors if not e.startswith(expected)]
    assert says in page.inner_text("main")
    assert "Traceback" not in page.content()
