"""Kind ``mod`` against the Ministry of Defense imitation (imitations/mod): crawled as first
found, again unchanged, then at epochs 1 and 2; then with every fault the site can show.

Each crawl is the real ``defwatch crawl mod`` in a subprocess (Scrapy's reactor cannot
restart); the server in this process records every request it answers. data.py is what
the assertions compare against.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.dates import JST, parse_era_date_string
from core.text import normalize, summarize
from crawler.mod_parse import parse_update_title
from imitations.mod import ModSite, data
from imitations.server import Hit, SiteServer
from store import Store
from store.urls import canonical_url
from tests.conftest import Defwatch

LISTINGS = [data.NEWS_FEED_PATH, data.UPDATE_FEED_PATH, data.KISHA_JS_PATH, data.JINJI_INDEX_PATH]


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    # The reader of release pages and of the 人事発令 index is what this module tests, so the
    # older imitation that answers them; the site as the real one answers (every HTML page a
    # challenge) is crawled by tests/alerts/test_ministry_notices.py and the other suites.
    with SiteServer({"mod": ModSite(open_pages=True)}) as srv:
        yield srv


@dataclass
class Crawl:
    result: subprocess.CompletedProcess[str]
    db: Path
    hits: list[Hit]
    run: dict[str, Any]  # the crawl_runs row
    stories: dict[str, dict[str, Any]]  # every stored story after the crawl, by path

    @property
    def stats(self) -> dict[str, Any]:
        return self.run["stats"]

    def requested(self) -> list[tuple[str, int]]:
        return sorted((h.path, h.status) for h in self.hits)


class Ministry:
    """One working directory (config and store) crawling the imitation."""

    def __init__(
        self,
        server: SiteServer,
        cwd: Path,
        options: str = "",
        jinji: str = "/j/press/jinji/2025/index.html",  # the imitation lives in 2025
    ) -> None:
        self.server = server
        self.site: ModSite = server.sites["mod"]
        self.defwatch = Defwatch(cwd)
        self.db = cwd / "defwatch.db"
        self.defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///{self.db}"

            [crawl]
            allow_private = true  # the imitation is on 127.0.0.1
            autothrottle = false  # the imitation answers at once: no need to pace

            [[sources]]
            name = "mod"
            kind = "mod"
            url = "{server.url("mod")}"
            jinji = ["{jinji}"]
            """
            + options
        )

    def crawl(self, epoch: int = 0, faults: frozenset[str] = frozenset()) -> Crawl:
        self.site.epoch, self.site.faults = epoch, set(faults)
        self.server.clear_hits()
        try:
            result = self.defwatch("crawl", "mod")
        finally:
            self.site.epoch, self.site.faults = 0, set()
        hits = self.server.hits_for("mod")
        with Store.open(f"sqlite:///{self.db}") as store:
            run = store.runs("mod", limit=1)[0]
            stories = {urlsplit(s["url"]).path: s for s in store.stories("mod")}
        return Crawl(result, self.db, hits, run, stories)


def stored(path: str) -> str:
    """The path a story is stored under (the store folds a trailing index.html)."""
    return urlsplit(canonical_url("http://x" + path)).path


def listed_paths(epoch: int) -> set[str]:
    """Every story the site lists at ``epoch``: releases, update.xml items (except the
    notices that point at the 人事発令 index), press conferences and personnel PDFs."""
    paths = set(data.news_paths(epoch))
    paths |= {i.link for i in data.update_items(epoch) if i.link != data.JINJI_INDEX_PATH}
    paths |= {k.url for k in data.kisha_entries(epoch)}
    paths |= {d.path for d in data.jinji_pdfs(epoch)}
    return paths


def listed(epoch: int) -> set[str]:
    """The same, as stored."""
    return {stored(p) for p in listed_paths(epoch)}


def at(rfc822: str) -> datetime:
    return parsedate_to_datetime(rfc822)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST)


# --------------------------------------------------------------------------------------
# The life of the site: epoch 0, unchanged, epoch 1, epoch 2
# --------------------------------------------------------------------------------------


@dataclass
class Life:
    first: Crawl
    unchanged: Crawl
    epoch1: Crawl
    epoch2: Crawl


@pytest.fixture(scope="module")
def life(server: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Life:
    ministry = Ministry(server, tmp_path_factory.mktemp("mod-life"))
    return Life(ministry.crawl(0), ministry.crawl(0), ministry.crawl(1), ministry.crawl(2))


def test_every_crawl_succeeds(life: Life) -> None:
    crawls = [life.first, life.unchanged, life.epoch1, life.epoch2]
    assert [c.result.returncode for c in crawls] == [0, 0, 0, 0], life.first.result.stderr[-2000:]
    assert [(c.run["outcome"], c.run["errors"]) for c in crawls] == [("ok", 0)] * 4


def test_first_crawl_stores_one_story_per_listed_url(life: Life) -> None:
    assert set(life.first.stories) == listed(0)
    assert life.first.run["new_stories"] == len(listed(0)) == 29
    # No URL reached the store twice (a repeat would count as "unchanged").
    assert life.first.stats["unchanged"] == 0


def test_a_url_repeated_in_the_feed_is_one_story(life: Life) -> None:
    assert [i.path for i in data.news_items(0)].count(data.REPEATED_PATH) == 2
    story = life.first.stories[data.REPEATED_PATH]
    assert (story["title"], story["extra"]["listed_in"]) == (
        "防衛大臣の海外出張について",
        [data.NEWS_FEED_PATH],
    )


def test_two_releases_with_one_title_are_two_stories(life: Life) -> None:
    same = {p: s for p, s in life.first.stories.items() if s["title"] == data.SHARED_TITLE}
    assert set(same) == set(data.SHARED_TITLE_PATHS_EPOCH0)
    assert [same[p]["body"] for p in data.SHARED_TITLE_PATHS_EPOCH0] == [
        data.ALL_PDFS[p].text for p in data.SHARED_TITLE_PATHS_EPOCH0
    ]


def test_relative_links_are_resolved_against_the_fetched_url(life: Life, server: SiteServer) -> None:
    base = server.url("mod", "/")
    assert all(s["url"].startswith(base) for s in life.first.stories.values())


NEWS_EPOCH0 = list({i.path: i for i in reversed(data.news_items(0))}.values())


@pytest.mark.parametrize("item", NEWS_EPOCH0, ids=lambda i: i.path.rsplit("/", 1)[1])
def test_release_keeps_feed_title_pubdate_and_category(life: Life, item: data.NewsItem) -> None:
    story = life.first.stories[item.path]
    assert (story["title"], story["published"], story["extra"]["category"]) == (
        item.title,
        at(item.pub_date),
        item.category,
    )
    assert (story["section"], story["extra"]["feed"]) == ("お知らせ・報道資料", data.NEWS_FEED_PATH)


def test_url_date_is_kept_where_it_differs_from_the_pubdate(life: Life) -> None:
    with_url_date = {
        p: s["extra"]["url_date"] for p, s in life.first.stories.items() if "url_date" in s["extra"]
    }
    assert set(with_url_date) == set(data.URL_DATE_DIFFERS_EPOCH0)
    assert with_url_date["/j/approach/exchange/area/2025/20251027_aus-j.html"] == "2025-10-27"
    assert with_url_date["/j/press/news/2025/10/10a.pdf"] == "2025-10-10"


UPDATES_EPOCH0 = list(
    {i.link: i for i in reversed(data.update_items(0)) if i.link != data.JINJI_INDEX_PATH}.values()
)


@pytest.mark.parametrize("item", UPDATES_EPOCH0, ids=lambda i: i.link)
def test_update_items_give_section_and_subject(life: Life, item: data.UpdateItem) -> None:
    """update.xml's latest word on a URL: ``<section>|<subject>を掲載/を更新``."""
    latest = next(i for i in data.update_items(0) if i.link == item.link)
    parsed = parse_update_title(latest.title)
    extra = life.first.stories[stored(item.link)]["extra"]
    assert (extra["update_section"], extra["update_subject"], extra["update_action"]) == (
        parsed.section,
        parsed.subject,
        parsed.action,
    )
    assert data.UPDATE_FEED_PATH in extra["listed_in"]


def test_update_only_items_are_stories_titled_by_their_subject(life: Life) -> None:
    saigai = life.first.stories[stored("/j/approach/defense/saigai/index.html")]
    # The same link "updated" three times: one story, dated by the latest update.
    assert (saigai["title"], saigai["section"], saigai["published"]) == (
        "災害派遣の実績",
        "防衛省・自衛隊の災害派遣",
        at("Mon, 27 Oct 2025 10:00:00 +0900"),
    )


@pytest.mark.parametrize("entry", data.kisha_entries(0), ids=lambda k: k.url.rsplit("/", 1)[1])
def test_press_conferences_come_from_the_data_file(life: Life, entry: data.KishaEntry) -> None:
    story = life.first.stories[entry.url]
    assert story["title"] == f"{entry.title}（{entry.date}）"
    assert story["extra"]["kisha"] is True and story["section"] == "大臣の記者会見"
    assert story["extra"]["challenged"] is True and story["body"] == ""
    notice = next((i for i in data.update_items(0) if i.link == entry.url), None)
    if notice is not None:  # update.xml gives the time of day
        assert story["published"] == at(notice.pub_date)
    else:  # the data file only the day
        day = parse_era_date_string(entry.date)
        assert day is not None and story["published"] == midnight(day)
        assert story["extra"]["published_date_only"] is True


# Which update.xml notice announces which batch of orders (read off data.py).
NOTICE_OF = {
    "/j/press/jinji/2025/pdf/20251031_01.pdf": "人事発令|人事発令(10月31日付 将官人事)を掲載",
    "/j/press/jinji/2025/pdf/20251015_01.pdf": "人事発令|人事発令(10月15日付 １佐職人事)を掲載",
    "/j/press/jinji/2025/pdf/20251001_02.pdf": "人事発令|人事発令(10月1日付 １佐職人事)を掲載",
    "/j/press/jinji/2025/pdf/20251001_01.pdf": "人事発令|人事発令(10月1日付 将補人事)を掲載",
}


@pytest.mark.parametrize("doc", data.jinji_pdfs(0), ids=lambda d: d.path.rsplit("/", 1)[1])
def test_personnel_orders_are_pdf_stories(life: Life, doc: data.PdfDoc) -> None:
    story = life.first.stories[doc.path]
    notice = next(i for i in data.UPDATE_ITEMS if i.title == NOTICE_OF[doc.path])
    assert (story["title"], story["kind"], story["complete"], story["section"]) == (
        f"人事発令 {doc.link_text}",
        "pdf",
        True,
        "人事発令",
    )
    assert story["extra"]["personnel"] is True and story["extra"]["link_text"] == doc.link_text
    assert story["body"] == doc.text
    assert (story["published"], story["extra"]["update_subject"]) == (
        at(notice.pub_date),
        parse_update_title(notice.title).subject,
    )


def test_personnel_pdf_text_matches_in_its_nfkc_form(life: Life) -> None:
    story = life.first.stories["/j/press/jinji/2025/pdf/20251001_01.pdf"]
    written = "陸将補\u3000山田\u3000太郎"
    assert written in story["body"]
    assert normalize(written) == "陸将補 山田 太郎" and "陸将補 山田 太郎" in story["text_norm"]
    other = life.first.stories["/j/press/jinji/2025/pdf/20251001_02.pdf"]
    assert "１等陸佐\u3000宮﨑\u3000花子" in other["body"] and "1等陸佐 宮﨑 花子" in other["text_norm"]


def test_only_personnel_orders_are_marked_personnel(life: Life) -> None:
    marked = {p for p, s in life.first.stories.items() if s["extra"].get("personnel")}
    assert marked == {d.path for d in data.jinji_pdfs(0)}


@pytest.mark.parametrize("doc", data.release_pdfs(0), ids=lambda d: d.path.rsplit("/", 1)[1])
def test_release_pdfs_are_read_with_wrapped_lines_joined(life: Life, doc: data.PdfDoc) -> None:
    story = life.first.stories[doc.path]
    assert (story["kind"], story["complete"], story["body"]) == ("pdf", True, doc.text)
    # The summary starts after the letterhead: date, issuer, title.
    assert normalize(doc.lines[2]) == normalize(story["title"])
    assert story["summary"] == summarize("\n".join(doc.lines[3:]))


@pytest.mark.parametrize("path", data.NORMAL_RELEASE_PAGES)
def test_html_pages_that_answer_are_read(life: Life, path: str) -> None:
    page = data.HTML_PAGES[path]
    story = life.first.stories[path]
    assert (story["kind"], story["complete"], story["title"]) == ("article", True, page.title)
    assert story["body"] == "\n".join(page.paragraphs)
    assert "challenged" not in story["extra"]


def first_crawl_html_pages(life: Life) -> dict[str, data.HtmlPage]:
    fetched = {h.path for h in life.first.hits}
    return {p: page for p, page in data.HTML_PAGES.items() if p in fetched}


def test_challenges_are_detected_counted_and_never_stored(life: Life) -> None:
    pages = first_crawl_html_pages(life)
    challenged = {p: page.answer for p, page in pages.items() if page.answer != data.PAGE}
    assert data.CHALLENGE_200 in challenged.values() and data.CHALLENGE_403 in challenged.values()
    assert life.first.stats["challenged"] == len(challenged) == 17
    for path, answer in challenged.items():
        story = life.first.stories[stored(path)]
        status = 200 if answer == data.CHALLENGE_200 else 403
        assert (story["extra"]["challenged"], story["extra"]["challenge_status"]) == (True, status), path
        assert (story["complete"], story["body"], story["kind"]) == (False, "", "item"), path
        assert story["title"] and story["published"] is not None, path
    assert not any(
        "Just a moment" in s["text_norm"] or "cloudflare" in s["text_norm"]
        for s in life.first.stories.values()
    )


def test_first_crawl_requests_each_listing_and_story_once(life: Life) -> None:
    paths = [h.path for h in life.first.hits]
    assert len(paths) == len(set(paths)) == life.first.run["requests"] == 34
    assert set(paths) == {"/robots.txt", *LISTINGS, *listed_paths(0)}


def test_validators_of_listings_and_pdfs_are_kept(life: Life, server: SiteServer) -> None:
    kept = [*LISTINGS, *(d.path for d in data.release_pdfs(0) + data.jinji_pdfs(0))]
    with Store.open(f"sqlite:///{life.first.db}") as store:
        validators = {path: store.http_state(server.url("mod", path)) for path in kept}
    assert all(etag and last_modified for etag, last_modified in validators.values()), validators


def test_unchanged_crawl_costs_one_304_per_listing(life: Life) -> None:
    # robots.txt was read by the first crawl and is kept for a day (crawler.hostcache)
    assert life.unchanged.requested() == sorted((p, 304) for p in LISTINGS)
    for hit in life.unchanged.hits:
        assert hit.headers.get("If-None-Match") and hit.headers.get("If-Modified-Since"), hit.path
    assert (life.unchanged.run["requests"], life.unchanged.stats["not_modified"]) == (4, 4)


def test_unchanged_crawl_stores_and_changes_nothing(life: Life) -> None:
    assert life.unchanged.run["new_stories"] == life.unchanged.run["revised"] == 0
    assert {p: s["updated"] for p, s in life.unchanged.stories.items()} == {
        p: s["updated"] for p, s in life.first.stories.items()
    }


EPOCH1_NEW = {
    *data.EPOCH1_NEW_PATHS,
    *(d.path for d in data.jinji_pdfs(1) if d.epoch == 1),
    *(k.url for k in data.kisha_entries(1) if k.epoch == 1),
}


def test_epoch1_stores_exactly_the_new_releases_orders_and_conference(life: Life) -> None:
    expected = {
        "/j/press/news/2025/10/31a.html",
        "/j/press/news/2025/10/30a.pdf",
        "/j/press/jinji/2025/pdf/20251031_01.pdf",
        "/j/press/kisha/2025/1031a.html",
    }
    assert expected == EPOCH1_NEW
    assert set(life.epoch1.stories) - set(life.unchanged.stories) == EPOCH1_NEW
    assert (life.epoch1.run["new_stories"], life.epoch1.run["revised"]) == (4, 0)
    assert life.epoch1.run["known_skipped"] == len(listed(0))


def test_epoch1_downloads_only_what_is_new(life: Life) -> None:
    assert life.epoch1.requested() == sorted(
        [(p, 200) for p in LISTINGS] + [(p, 200 if p.endswith(".pdf") else 403) for p in EPOCH1_NEW]
    )


def test_epoch1_stories(life: Life) -> None:
    stories = life.epoch1.stories
    pdf = stories["/j/press/news/2025/10/30a.pdf"]
    assert (pdf["body"], pdf["extra"]["url_date"]) == (
        data.ALL_PDFS["/j/press/news/2025/10/30a.pdf"].text,
        "2025-10-30",
    )
    assert pdf["published"] == at("Fri, 31 Oct 2025 18:05:21 +0900")
    assert stories["/j/press/news/2025/10/31a.html"]["extra"]["challenged"] is True
    order = stories["/j/press/jinji/2025/pdf/20251031_01.pdf"]
    assert (order["title"], order["published"]) == (
        "人事発令 令和７年１０月３１日付\u3000将官人事",
        at("Fri, 31 Oct 2025 10:00:00 +0900"),
    )
    assert "空将 渡邉 剛" in order["text_norm"]


def test_epoch2_a_feed_rolling_over_deletes_nothing(life: Life) -> None:
    assert set(life.epoch1.stories) <= set(life.epoch2.stories)
    assert set(data.EPOCH2_DROPPED_PATHS) <= set(life.epoch2.stories)
    assert set(life.epoch2.stories) - set(life.epoch1.stories) == {
        *data.EPOCH2_NEW_PATHS,
        "/j/press/kisha/2025/1104a.html",
    }
    same_title = [p for p, s in life.epoch2.stories.items() if s["title"] == data.SHARED_TITLE]
    assert len(same_title) == 3


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty(server: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """One crawl with every fault that touches its own files (news.xml's own two faults
    each get a crawl of their own below)."""
    ministry = Ministry(server, tmp_path_factory.mktemp("mod-faulty"), 'max_pdf_size = "1MB"\n')
    faults = {data.FAULT_HTML_IN_TITLE, data.FAULT_BIG_PDF, data.FAULT_FAKE_PDF, data.FAULT_BROKEN_KISHA}
    return ministry.crawl(0, frozenset(faults))


def test_faults_do_not_stop_the_run(faulty: Crawl) -> None:
    assert faulty.result.returncode == 0, faulty.result.stderr[-2000:]
    assert faulty.run["outcome"] == "degraded"
    assert set(data.news_paths(0)) <= set(faulty.stories)
    assert {d.path for d in data.jinji_pdfs(0)} <= set(faulty.stories)


def test_markup_in_a_title_is_removed(faulty: Crawl) -> None:
    story = faulty.stories[data.HTML_IN_TITLE_PATH]
    assert story["title"] == "重要令和８年度自衛官候補生の募集について"
    assert story["extra"]["title_raw"] == data.HTML_IN_TITLE
    assert faulty.stats["title_markup"] == 1


def test_a_pdf_over_the_size_limit_is_skipped_with_its_reason(faulty: Crawl) -> None:
    story = faulty.stories[data.BIG_PDF_PATH]
    assert (story["title"], story["kind"], story["complete"], story["body"]) == (
        data.ALL_PDFS[data.BIG_PDF_PATH].lines[2],
        "pdf",
        False,
        "",
    )
    assert "1 MB" in story["extra"]["pdf_reason"] and "max_pdf_size" in story["extra"]["pdf_reason"]
    assert faulty.stats["pdf_too_large"] == 1


@pytest.mark.parametrize(
    ("path", "words"),
    [(data.FAKE_PDF_HTML_PATH, "answered text/html"), (data.FAKE_PDF_GARBAGE_PATH, "no %PDF- header")],
    ids=["html", "garbage"],
)
def test_a_file_named_pdf_that_is_no_pdf_is_stored_with_its_reason(
    faulty: Crawl, path: str, words: str
) -> None:
    story = faulty.stories[path]
    assert (story["kind"], story["complete"], story["body"]) == ("pdf", False, "")
    assert story["title"] == next(i.title for i in data.news_items(0) if i.path == path)
    assert words in story["extra"]["pdf_reason"]


def test_fault_counts(faulty: Crawl) -> None:
    assert (faulty.stats["pdf_not_a_pdf"], faulty.stats["kisha_unparsed"]) == (2, 1)
    assert faulty.run["errors"] == 0  # the site's faults, counted by reason; nothing failed


def test_a_kisha_file_that_no_longer_parses_degrades_the_run(faulty: Crawl) -> None:
    assert "kisha_ja.js" in faulty.run["reason"]
    kisha = {p for p, s in faulty.stories.items() if s["extra"].get("kisha")}
    # Only the conferences update.xml also announces are known this time.
    assert kisha == {i.link for i in data.update_items(0) if "/kisha/" in i.link}


def test_malformed_news_keeps_what_parsed_and_is_reported_until_fixed(
    server: SiteServer, tmp_path: Path
) -> None:
    ministry = Ministry(server, tmp_path)
    broken = ministry.crawl(0, frozenset({data.FAULT_MALFORMED_NEWS}))
    first_items = data.news_items(0)[: data.MALFORMED_COMPLETE_ITEMS]
    from_news = {p for p, s in broken.stories.items() if data.NEWS_FEED_PATH in s["extra"]["listed_in"]}
    assert from_news == {i.path for i in first_items}
    assert (broken.run["outcome"], broken.stats["feed_malformed"], broken.stats["no_link"]) == (
        "degraded",
        1,
        1,
    )
    assert (
        "news.xml is not well-formed XML" in broken.run["reason"]
        and "kept the 7 items" in broken.run["reason"]
    )

    fixed = ministry.crawl(0)
    assert fixed.run["outcome"] == "ok"
    assert (data.NEWS_FEED_PATH, 200) in fixed.requested()  # not a 304: the broken copy was not kept
    assert set(fixed.stories) == listed(0)


def test_an_empty_news_feed_is_reported_and_the_rest_is_read(server: SiteServer, tmp_path: Path) -> None:
    crawl = Ministry(server, tmp_path).crawl(0, frozenset({data.FAULT_EMPTY_NEWS}))
    assert (crawl.run["outcome"], crawl.stats["feed_empty"]) == ("degraded", 1)
    assert "news.xml lists no items" in crawl.run["reason"]
    assert {d.path for d in data.jinji_pdfs(0)} | {k.url for k in data.kisha_entries(0)} <= set(crawl.stories)


def test_index_found_through_update_xml_and_html_left_alone(server: SiteServer, tmp_path: Path) -> None:
    """A configured index that does not exist is reported; update.xml's 人事発令 notices
    still lead to the real one. With fetch_html = false no page is requested."""
    ministry = Ministry(server, tmp_path, "fetch_html = false\n", jinji="/j/press/jinji/2024/index.html")
    crawl = ministry.crawl(0)
    assert crawl.run["outcome"] == "degraded" and "/j/press/jinji/2024/index.html" in crawl.run["reason"]
    assert ("/j/press/jinji/2024/index.html", 404) in crawl.requested()
    assert {d.path for d in data.jinji_pdfs(0)} <= set(crawl.stories)
    assert not [h for h in crawl.hits if h.path.endswith((".html", "/")) and "/jinji/" not in h.path]
    assert set(crawl.stories) == listed(0)
