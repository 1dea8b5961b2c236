"""The ministry imitation over real HTTP: the quirks the spider must meet are really there."""

from __future__ import annotations

import hashlib
import io
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urljoin
from urllib.robotparser import RobotFileParser

import feedparser
import pytest
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from imitations import shared_story
from imitations.mod import ModSite, data
from imitations.mod.layout import wrap
from imitations.server import SiteServer

KISHA_ENTRY = re.compile(r'\{date:"([^"]+)",title:"([^"]+)",url:"([^"]+)"\}')
JINJI_LINK = re.compile(r'<a href="([^"]+\.pdf)">([^<]+)</a>')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def fingerprint(self) -> tuple[int, str, str]:
        return (self.status, self.headers.get("Content-Type", ""), hashlib.sha1(self.body).hexdigest())


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with SiteServer({"mod": ModSite(open_pages=True)}) as srv:
        yield srv


@pytest.fixture
def site(server: SiteServer) -> Iterator[ModSite]:
    mod: ModSite = server.sites["mod"]
    mod.epoch, mod.faults = 0, set()
    yield mod
    mod.epoch, mod.faults = 0, set()


@pytest.fixture
def get(server: SiteServer, site: ModSite):
    def fetch(path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Answer:
        request = urllib.request.Request(server.url("mod", path), headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())

    return fetch


def parse_feed(answer: Answer, url: str = "") -> feedparser.FeedParserDict:
    return feedparser.parse(answer.body, response_headers={"content-location": url} if url else None)


def pdf_lines(body: bytes) -> list[str]:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return [line for line in text.splitlines() if line]


# -- news.xml -----------------------------------------------------------------------------
def test_news_feed_items_are_the_data_items(get) -> None:
    feed = parse_feed(get(data.NEWS_FEED_PATH))
    assert not feed.bozo
    expected = data.news_items(0)
    assert 15 <= len(expected) <= 20
    assert [(e.title, e.link, e.id, e.published, e.tags[0].term) for e in feed.entries] == [
        (i.title, i.link, i.link, i.pub_date, i.category) for i in expected
    ]
    assert {e.description for e in feed.entries} == {""}


def test_news_links_are_relative_and_resolve_against_the_feed_url(get, server) -> None:
    url = server.url("mod", data.NEWS_FEED_PATH)
    feed = parse_feed(get(data.NEWS_FEED_PATH), url)
    assert feed.feed.link == data.CHANNEL_LINK  # absolute, and not the base to use
    assert feed.entries[0].link == server.url("mod", data.news_items(0)[0].path)
    assert b"<link>/j/press/news/" in get(data.NEWS_FEED_PATH).body


def test_news_repeats_one_url_and_shares_one_title(get) -> None:
    entries = parse_feed(get(data.NEWS_FEED_PATH)).entries
    repeated = [link for link, n in Counter(e.link for e in entries).items() if n > 1]
    assert repeated == [data.REPEATED_PATH]
    same_title = {e.link for e in entries if e.title == data.SHARED_TITLE}
    assert same_title == set(data.SHARED_TITLE_PATHS_EPOCH0)


def test_news_titles_carry_full_width_digits_brackets_and_variant_kanji(get) -> None:
    titles = " ".join(e.title for e in parse_feed(get(data.NEWS_FEED_PATH)).entries)
    for needle in ("令和８年度", "第２回", "「", "」", "宮﨑", "ＡＳＥＡＮ"):
        assert needle in titles


def test_news_items_share_batch_times(get) -> None:
    times = Counter(e.published for e in parse_feed(get(data.NEWS_FEED_PATH)).entries)
    assert max(times.values()) >= 3
    assert all(t.endswith("+0900") for t in times)


def _url_date(path: str) -> date:
    if match := re.search(r"/(\d{4})/(\d{2})/(\d{2})[a-h]\.", path):
        return date(*map(int, match.groups()))
    match = re.search(r"/(\d{4})(\d{2})(\d{2})_", path)
    assert match, path
    return date(*map(int, match.groups()))


def test_about_a_third_of_urls_carry_another_date_than_the_pubdate() -> None:
    differs = {
        i.path for i in data.news_items(0) if _url_date(i.path) != parsedate_to_datetime(i.pub_date).date()
    }
    assert differs == set(data.URL_DATE_DIFFERS_EPOCH0)
    assert 0.25 <= len(differs) / len(data.news_paths(0)) <= 0.45


def test_shared_story_is_a_pdf_item_of_the_feed(get) -> None:
    entries = {e.link: e for e in parse_feed(get(data.NEWS_FEED_PATH)).entries}
    story = entries[shared_story.MOD_PATH]
    assert (story.title, story.published) == (shared_story.MOD_TITLE, shared_story.MOD_PUBDATE)
    assert sum(link.endswith(".pdf") for link in entries) >= 4


@pytest.mark.parametrize(
    "pub_date",
    sorted({i.pub_date for i in data.NEWS_ITEMS} | {i.pub_date for i in data.UPDATE_ITEMS}),
)
def test_dates_in_data_are_canonical_rfc822_with_the_right_weekday(pub_date: str) -> None:
    assert format_datetime(parsedate_to_datetime(pub_date)) == pub_date


# -- update.xml, kisha_ja.js, 人事発令 ------------------------------------------------------
def test_update_feed_titles_and_repeats(get) -> None:
    feed = parse_feed(get(data.UPDATE_FEED_PATH))
    assert not feed.bozo
    assert [(e.title, e.link) for e in feed.entries] == [(i.title, i.link) for i in data.update_items(0)]
    assert all(re.fullmatch(r"[^|]+\|.+を(掲載|更新)", e.title) for e in feed.entries)
    assert Counter(e.link for e in feed.entries)["/j/approach/defense/saigai/index.html"] == 3
    jinji = [e for e in feed.entries if e.title.startswith("人事発令|人事発令(")]
    assert jinji and {e.link for e in jinji} == {data.JINJI_INDEX_PATH}


def test_kisha_js_lists_the_entries(get) -> None:
    answer = get(data.KISHA_JS_PATH)
    assert answer.headers["Content-Type"].startswith("application/javascript")
    found = KISHA_ENTRY.findall(answer.body.decode())
    assert found == [(e.date, e.title, e.url) for e in data.kisha_entries(0)]
    assert "/j/press/kisha/2025/1021a_r.html" in {url for _, _, url in found}


def test_jinji_index_is_served_and_links_every_pdf(get, server) -> None:
    answer = get(data.JINJI_INDEX_PATH)
    assert answer.status == 200 and "ETag" in answer.headers
    index_url = server.url("mod", data.JINJI_INDEX_PATH)
    links = [(urljoin(index_url, href), text) for href, text in JINJI_LINK.findall(answer.body.decode())]
    assert links == [(server.url("mod", d.path), d.link_text) for d in data.jinji_pdfs(0)]


# -- PDFs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", list(data.ALL_PDFS.values()), ids=lambda d: d.path.rsplit("/", 1)[1])
def test_pdf_is_real_and_its_japanese_text_extracts_with_pypdf(get, site, doc: data.PdfDoc) -> None:
    site.epoch = 2
    answer = get(doc.path)
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/pdf"
    assert answer.body.startswith(b"%PDF-")
    assert pdf_lines(answer.body) == wrap(doc.lines)


def test_committed_pdfs_are_what_make_pdfs_writes_from_data() -> None:
    pytest.importorskip("reportlab")
    from imitations.mod import make_pdfs

    make_pdfs.register_fonts()
    stale = [
        path
        for path, doc in data.ALL_PDFS.items()
        if make_pdfs.file_for(path).read_bytes() != make_pdfs.render(doc)
    ]
    assert stale == [], "run: .venv/bin/python -m imitations.mod.make_pdfs"


def test_shared_story_pdf_text_is_the_release_text(get) -> None:
    lines = pdf_lines(get(shared_story.MOD_PATH).body)
    head = shared_story.RELEASE_TEXT.split("\n")
    assert lines[:3] == head[:3]
    assert "".join(lines[3:]) == "".join(head[3:])


def test_jinji_pdf_keeps_full_width_digits_and_spaces(get) -> None:
    lines = pdf_lines(get("/j/press/jinji/2025/pdf/20251001_02.pdf").body)
    assert lines[1] == "令和７年１０月１日付"
    assert "１等陸佐\u3000宮﨑\u3000花子\u3000\u3000陸上幕僚監部人事教育部人事教育計画課長" in lines


# -- HTTP validators ----------------------------------------------------------------------
VALIDATED = [
    data.NEWS_FEED_PATH,
    data.UPDATE_FEED_PATH,
    data.KISHA_JS_PATH,
    shared_story.MOD_PATH,
    "/j/press/jinji/2025/pdf/20251001_01.pdf",
    data.JINJI_INDEX_PATH,
    data.ROBOTS_PATH,
]


@pytest.mark.parametrize("path", VALIDATED)
@pytest.mark.parametrize("validator", ["If-None-Match", "If-Modified-Since"])
def test_conditional_request_answers_304(get, path: str, validator: str) -> None:
    first = get(path)
    value = first.headers["ETag" if validator == "If-None-Match" else "Last-Modified"]
    again = get(path, {validator: value})
    assert (again.status, again.body) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"something-else"'},
        {"If-Modified-Since": "Mon, 01 Sep 2025 00:00:00 GMT"},
        {"If-None-Match": '"something-else"', "If-Modified-Since": "Sat, 01 Jan 2028 00:00:00 GMT"},
    ],
    ids=["other-etag", "older-date", "etag-wins-over-date"],
)
def test_conditional_request_that_does_not_match_gets_the_body(get, headers) -> None:
    assert get(data.NEWS_FEED_PATH, headers).status == 200


@pytest.mark.parametrize(
    "path", [data.NEWS_FEED_PATH, data.UPDATE_FEED_PATH, data.KISHA_JS_PATH, data.JINJI_INDEX_PATH]
)
def test_etag_and_last_modified_change_with_the_epoch(get, site, path: str) -> None:
    before = get(path)
    site.epoch = 1
    after = get(path)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) > parsedate_to_datetime(
        before.headers["Last-Modified"]
    )
    assert get(path, {"If-None-Match": before.headers["ETag"]}).status == 200


def test_head_answers_headers_only(get) -> None:
    answer = get(shared_story.MOD_PATH, method="HEAD")
    assert answer.status == 200 and answer.body == b""
    assert int(answer.headers["Content-Length"]) == len(get(shared_story.MOD_PATH).body)


# -- challenge, pages, robots, 404 --------------------------------------------------------
CHALLENGED_403 = [
    "/j/press/news/2025/10/22a.html",
    "/j/approach/exchange/area/2025/20251027_aus-j.html",
    "/j/press/kisha/2025/1028a.html",
    "/j/press/kisha/2025/1021a_r.html",
    data.FEED_INDEX_PATH,
    "/",
]


@pytest.mark.parametrize("path", CHALLENGED_403)
def test_html_pages_answer_the_challenge_with_403(get, path: str) -> None:
    answer = get(path)
    assert answer.status == 403
    assert answer.headers["cf-mitigated"] == "challenge"
    assert b"<title>Just a moment...</title>" in answer.body
    assert "ETag" not in answer.headers


@pytest.mark.parametrize("path", data.CHALLENGE_200_PAGES)
def test_the_variant_answers_the_challenge_with_200(get, path: str) -> None:
    answer = get(path)
    assert answer.status == 200 and "cf-mitigated" not in answer.headers
    assert b"<title>Just a moment...</title>" in answer.body


@pytest.mark.parametrize("path", data.NORMAL_RELEASE_PAGES)
def test_a_few_release_pages_answer_with_the_real_page(get, path: str) -> None:
    page = data.HTML_PAGES[path]
    body = get(path).body.decode()
    assert "Just a moment" not in body
    assert f"<h1>{page.title}</h1>" in body
    assert f'<p class="date">{page.date_line}</p>' in body
    assert all(f"<p>{p}</p>" in body for p in page.paragraphs)


def test_robots_txt(get, server) -> None:
    answer = get(data.ROBOTS_PATH)
    assert answer.body.decode() == "User-agent: *\nDisallow: /a/\nDisallow: /sp/j/\n"
    robots = RobotFileParser()
    robots.parse(answer.body.decode().splitlines())
    assert not robots.can_fetch("defwatch", server.url("mod", "/sp/j/press/"))
    assert robots.can_fetch("defwatch", server.url("mod", data.NEWS_FEED_PATH))


@pytest.mark.parametrize("path", ["/j/press/news/2025/10/99z.html", *data.EPOCH1_NEW_PATHS])
def test_unknown_and_not_yet_published_paths_answer_404(get, path: str) -> None:
    assert get(path).status == 404


# -- epochs -------------------------------------------------------------------------------
def test_epoch_1_adds_exactly_two_releases_and_one_jinji_pdf(get, site) -> None:
    before = parse_feed(get(data.NEWS_FEED_PATH)).entries
    site.epoch = 1
    after = parse_feed(get(data.NEWS_FEED_PATH)).entries
    assert [e.link for e in after[:2]] == list(data.EPOCH1_NEW_PATHS)
    assert [(e.title, e.link, e.published) for e in after[2:]] == [
        (e.title, e.link, e.published) for e in before
    ]
    assert [d.path for d in data.jinji_pdfs(1)] == ["/j/press/jinji/2025/pdf/20251031_01.pdf"] + [
        d.path for d in data.jinji_pdfs(0)
    ]
    hrefs = [href for href, _ in JINJI_LINK.findall(get(data.JINJI_INDEX_PATH).body.decode())]
    assert [urljoin(data.JINJI_INDEX_PATH, href) for href in hrefs] == [d.path for d in data.jinji_pdfs(1)]
    titles = [e.title for e in parse_feed(get(data.UPDATE_FEED_PATH)).entries]
    assert "人事発令|人事発令(10月31日付 将官人事)を掲載" in titles
    assert all(get(path).status in (200, 403) for path in data.EPOCH1_NEW_PATHS)


def test_epoch_1_adds_one_kisha_entry(get, site) -> None:
    site.epoch = 1
    found = KISHA_ENTRY.findall(get(data.KISHA_JS_PATH).body.decode())
    assert found[1:] == [(e.date, e.title, e.url) for e in data.kisha_entries(0)]


def test_epoch_2_rolls_the_oldest_entries_off_but_keeps_their_pages(get, site) -> None:
    site.epoch = 2
    links = [e.link for e in parse_feed(get(data.NEWS_FEED_PATH)).entries]
    assert len(links) == data.NEWS_FEED_CAP
    assert links[:2] == list(data.EPOCH2_NEW_PATHS)
    assert not set(data.EPOCH2_DROPPED_PATHS) & set(links)
    assert all(get(path).status == 200 for path in data.EPOCH2_DROPPED_PATHS)


def test_epochs_past_the_last_are_the_last(get, site) -> None:
    site.epoch = 2
    at_2 = {path: get(path).fingerprint for path in (data.NEWS_FEED_PATH, data.KISHA_JS_PATH)}
    site.epoch = 5
    assert {path: get(path).fingerprint for path in at_2} == at_2


# -- faults -------------------------------------------------------------------------------
RESOURCES = [
    data.NEWS_FEED_PATH,
    data.UPDATE_FEED_PATH,
    data.KISHA_JS_PATH,
    data.JINJI_INDEX_PATH,
    *[d.path for d in data.release_pdfs(0)],
    *[d.path for d in data.jinji_pdfs(0)],
]


def test_every_known_fault_is_covered() -> None:
    assert set(data.FAULT_PATHS) == data.KNOWN_FAULTS


@pytest.mark.parametrize("fault", sorted(data.FAULT_PATHS))
def test_a_fault_changes_what_it_says_and_nothing_else(get, site, fault: str) -> None:
    normal = {path: get(path).fingerprint for path in RESOURCES}
    site.faults = {fault}
    changed = {path for path in RESOURCES if get(path).fingerprint != normal[path]}
    assert changed == data.FAULT_PATHS[fault]


def test_malformed_news_keeps_the_items_before_the_cut(get, site) -> None:
    site.faults = {data.FAULT_MALFORMED_NEWS}
    answer = get(data.NEWS_FEED_PATH)
    with pytest.raises(ET.ParseError):
        ET.fromstring(answer.body)
    feed = parse_feed(answer)
    assert feed.bozo
    complete = [e for e in feed.entries if e.get("link")]
    expected = data.news_items(0)[: data.MALFORMED_COMPLETE_ITEMS]
    assert [(e.title, e.link) for e in complete] == [(i.title, i.link) for i in expected]


def test_empty_news_is_a_valid_feed_without_items(get, site) -> None:
    site.faults = {data.FAULT_EMPTY_NEWS}
    answer = get(data.NEWS_FEED_PATH)
    ET.fromstring(answer.body)
    feed = parse_feed(answer)
    assert not feed.bozo and feed.entries == [] and feed.feed.title == "防衛省・自衛隊"


def test_html_in_title_is_escaped_markup(get, site) -> None:
    site.faults = {data.FAULT_HTML_IN_TITLE}
    answer = get(data.NEWS_FEED_PATH)
    assert "<title>&lt;b&gt;重要&lt;/b&gt;令和８年度".encode() in answer.body
    titles = {e.link: e.title for e in parse_feed(answer).entries}
    assert titles[data.HTML_IN_TITLE_PATH] == data.HTML_IN_TITLE


def test_big_pdf_is_about_3_mb_and_still_a_pdf(get, site) -> None:
    site.faults = {data.FAULT_BIG_PDF}
    answer = get(data.BIG_PDF_PATH)
    assert data.BIG_PDF_MIN_BYTES <= int(answer.headers["Content-Length"]) == len(answer.body) < 3_200_000
    assert pdf_lines(answer.body) == wrap(data.ALL_PDFS[data.BIG_PDF_PATH].lines)


def test_fake_pdf_serves_an_html_page_and_garbage(get, site) -> None:
    site.faults = {data.FAULT_FAKE_PDF}
    html = get(data.FAKE_PDF_HTML_PATH)
    assert html.status == 200 and html.headers["Content-Type"].startswith("text/html")
    assert html.body.startswith(b"<!DOCTYPE html>")
    garbage = get(data.FAKE_PDF_GARBAGE_PATH)
    assert garbage.status == 200 and garbage.headers["Content-Type"] == "application/pdf"
    assert not garbage.body.startswith(b"%PDF-")
    with pytest.raises(PdfReadError):
        PdfReader(io.BytesIO(garbage.body))


def test_broken_kisha_no_longer_parses(get, site) -> None:
    site.faults = {data.FAULT_BROKEN_KISHA}
    answer = get(data.KISHA_JS_PATH)
    assert answer.status == 200 and answer.body
    assert KISHA_ENTRY.findall(answer.body.decode()) == []


def test_an_unknown_fault_is_refused_loudly(get, site) -> None:
    site.faults = {"no-such-fault"}
    assert get(data.NEWS_FEED_PATH).status == 500
