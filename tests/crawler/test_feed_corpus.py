"""A peer's test suite: feedparser's own test feeds (tests/crawler/corpus/feedparser, BSD
licence beside them) through the ``feed`` kind, compared with what feedparser reads.

Every vendored feed with a linked entry is served as its test header says (Content-Type,
Content-Location) and crawled once, all in one ``defwatch crawl``; each linked entry must be
stored with feedparser's link, title (as plain text) and date, except for the deliberate
differences in :data:`DIFFERENCES`. The encoding feeds are compared with the encoding
feedparser expects (their ``Expect:`` line), with the differences in :data:`ENCODINGS`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from w3lib.html import remove_tags, replace_entities

from core.config import SourceConfig
from core.sources import FeedOptions
from crawler.encoding import codec_for_label, decode_document
from crawler.feed_entries import entry_link, fold_spaces
from crawler.items import StoryItem
from crawler.spiders.feed import FeedSpider
from store import Store

CORPUS = Path(__file__).parent / "corpus" / "feedparser"
_HEADER = re.compile(r"^Header:\s*([\w-]+):\s*(.+?)\s*$", re.MULTILINE)
_EXPECT_ENCODING = re.compile(r"^Expect:.*encoding == '([^']+)'", re.MULTILINE)


def _headers(body: bytes) -> dict[str, str]:
    head = body[:1000].decode("latin-1")
    return {name.lower(): value for name, value in _HEADER.findall(head)}


def _reference(name: str, url: str) -> list[dict[str, Any]]:
    """What feedparser reads from the file, served as the test serves it: for each linked
    entry, its absolute link, its title as plain text and its date in UTC."""
    body = (CORPUS / name).read_bytes()
    headers = _headers(body)
    parsed = feedparser.parse(
        body,
        response_headers={
            "content-type": headers.get("content-type", "application/xml"),
            "content-location": headers.get("content-location", url),
        },
    )
    out = []
    for entry in parsed.entries:
        link = entry_link(entry)
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        title = entry.get("title") or ""
        if "<" in title or "&" in title:
            title = replace_entities(remove_tags(title))
        out.append(
            {
                "link": urljoin(url, link),
                "title": fold_spaces(title),
                "published": datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None,
            }
        )
    return out


def _unlinked(name: str) -> int:
    """How many of the file's entries have no link (feedparser's reading)."""
    body = (CORPUS / name).read_bytes()
    return sum(1 for entry in feedparser.parse(body).entries if not entry_link(entry))


def _linked_files() -> list[str]:
    """The vendored files in which feedparser finds an entry with a link."""
    names = []
    for path in sorted(CORPUS.rglob("*.xml")):
        name = path.relative_to(CORPUS).as_posix()
        if _reference(name, "http://example.test/corpus/" + name):
            names.append(name)
    return names


FILES = _linked_files()
# Files whose entries all lack a link: the feed kind skips and counts each (docs/sources.md).
UNLINKED_ONLY = [
    p.relative_to(CORPUS).as_posix()
    for p in sorted(CORPUS.rglob("*.xml"))
    if p.relative_to(CORPUS).as_posix() not in FILES and _unlinked(p.relative_to(CORPUS).as_posix())
]

# Deliberate differences: file -> (field, why). Everything else must equal feedparser's.
DIFFERENCES: dict[str, tuple[str, str]] = {
    "wellformed/base/http_entry_link_base_content_location.xml": (
        "link",
        "relative links resolve against the URL fetched, not a Content-Location header",
    ),
    "wellformed/base/http_entry_id_base_content_location.xml": (
        "link",
        "relative links resolve against the URL fetched, not a Content-Location header",
    ),
    "wellformed/base/http_item_link_base_content_location.xml": (
        "link",
        "relative links resolve against the URL fetched, not a Content-Location header",
    ),
}


ORIGIN = "http://corpus.test"


def _source(name: str) -> str:
    return "c" + re.sub(r"[^a-z0-9]+", "-", name.lower().removesuffix(".xml"))[:60]


@dataclass
class Read:
    """What the feed kind made of one file: the stories by link, and the run's counts."""

    stories: dict[str, StoryItem]
    stats: dict[str, Any]
    degraded: list[str]
    failed: str | None


def read_with_the_feed_kind(store: Store, name: str) -> Read:
    """The file through FeedSpider.parse_feed, served as its ``Header:`` lines say.

    In-process, with an empty store each time: feedparser's files share links (a dozen
    link http://example.com/), which one store would take for one story."""
    body = (CORPUS / name).read_bytes()
    headers = _headers(body)
    url = f"{ORIGIN}/corpus/{name}"
    source = SourceConfig(name=_source(name), kind="feed", url=url, timezone="UTC", options=FeedOptions())
    crawler = get_crawler(FeedSpider)
    spider = FeedSpider.from_crawler(crawler, source=source, store=store, config=None)
    response_headers = {"Content-Type": headers.get("content-type", "application/xml")}
    if "content-location" in headers:
        response_headers["Content-Location"] = headers["content-location"]
    response = Response(url, body=body, headers=response_headers, request=Request(url))
    items = [i for i in spider.parse_feed(response) if isinstance(i, StoryItem)]
    assert crawler.stats is not None
    stats = {
        k.removeprefix("defwatch/reason/"): v
        for k, v in crawler.stats.get_stats().items()
        if k.startswith("defwatch/reason/")
    }
    return Read({i.url: i for i in items}, stats, spider.degraded_reasons, spider.failed_reason)


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[str, Read]]:
    with Store.open("sqlite://") as store:
        yield {name: read_with_the_feed_kind(store, name) for name in FILES + UNLINKED_ONLY}


def test_no_file_fails_the_run(corpus: dict[str, Read]) -> None:
    assert not {name: read.failed for name, read in corpus.items() if read.failed}


def test_the_corpus_is_what_the_closing_note_says() -> None:
    assert (len(FILES), len(UNLINKED_ONLY)) == (85, 3) and (CORPUS / "LICENSE").is_file()


@pytest.mark.parametrize("name", FILES)
def test_entry_as_feedparser_reads_it(corpus: dict[str, Read], name: str) -> None:
    url = f"{ORIGIN}/corpus/{name}"
    expected = _reference(name, url)
    stored = corpus[name].stories
    assert expected, "every file in the table has a linked entry"
    differs = DIFFERENCES.get(name, ("", ""))[0]
    for want in expected:
        if differs == "link":
            # The deliberate difference: the link resolves against the URL fetched instead.
            assert len(stored) == len({e["link"] for e in expected})
            continue
        story = stored.get(want["link"])
        assert story is not None, f"{want['link']} not stored; stored: {sorted(stored)}"
        assert story.title == want["title"]
        # feedparser's dates are struct_time (whole seconds); defwatch keeps the fraction.
        published = story.published.replace(microsecond=0) if story.published else None
        assert published == want["published"]


def test_items_without_a_link_are_skipped_and_counted(corpus: dict[str, Read]) -> None:
    """The one difference in what is kept: an entry without a link is no story (defwatch knows
    stories by URL); each is counted ``no_link``, and a feed with none linked is degraded."""
    assert UNLINKED_ONLY, "the corpus has feeds whose entries have no link"
    counted = {name: corpus[name].stats.get("no_link", 0) for name in FILES + UNLINKED_ONLY}
    assert counted == {name: _unlinked(name) for name in FILES + UNLINKED_ONLY}
    for name in UNLINKED_ONLY:
        read = corpus[name]
        assert not read.stories and read.failed is None, name
        assert any("could be used" in reason for reason in read.degraded), (name, read.degraded)


def test_a_deliberate_difference_is_a_real_one(corpus: dict[str, Read]) -> None:
    for name, (field, _why) in DIFFERENCES.items():
        url = f"{ORIGIN}/corpus/{name}"
        stored = set(corpus[name].stories)
        assert field == "link" and stored != {e["link"] for e in _reference(name, url)}


# -- encodings ----------------------------------------------------------------------------------

ENCODING_FILES = sorted(
    p.relative_to(CORPUS).as_posix()
    for p in (CORPUS / "encoding").glob("*.xml")
    if _EXPECT_ENCODING.search(p.read_text("latin-1"))
)

# feedparser follows RFC 3023 (text/* without a charset is US-ASCII, whatever the prolog
# says); browsers and defwatch follow the document, then UTF-8. For these ASCII files the
# text is the same either way.
ENCODINGS: dict[str, str] = {
    "us-ascii": "text/* without a charset: the prolog (or UTF-8) is believed, as browsers do",
}


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_encoding_as_feedparser_expects(name: str) -> None:
    body = (CORPUS / name).read_bytes()
    expected = _EXPECT_ENCODING.search(body.decode("latin-1"))
    assert expected is not None
    decoded = decode_document(body, _headers(body).get("content-type", ""))
    if expected[1] in ENCODINGS:
        assert body.isascii() or decoded.text == body.decode(decoded.encoding)
        return
    assert decoded.encoding == codec_for_label(expected[1])
    assert decoded.damaged == 0 or "bozo" in name
