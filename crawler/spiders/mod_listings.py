"""The listings of kind ``mod`` (crawler.spiders.mod), each read into what it says about
each URL (:class:`Listed`): the feeds news.xml and update.xml, the press-conference data file
kisha_ja.js, and the yearly 人事発令 index that links the personnel orders as PDFs; an
update.xml notice of a batch of 人事発令 is given to the PDFs of its batch."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy
from feedparser.exceptions import ThingsNobodyCaresAboutButMe
from scrapy.http import Response, TextResponse

from core.dates import JST, parse_era_date_string, plausible
from core.text import normalize
from crawler.encoding import looks_like_mojibake
from crawler.feed_dates import DateOutOfRange, parse_feed_date
from crawler.feed_entries import damaged, entry_categories, entry_link, entry_title, parse_feed_document
from crawler.mod_parse import (
    JinjiLink,
    is_jinji_index,
    is_personnel,
    jinji_links,
    parse_kisha_js,
    parse_update_title,
    personnel_key,
    squash,
    strip_markup,
    url_date,
)
from crawler.spiders.mod_pages import ModPages, _content_type, _midnight
from store import url_key

if TYPE_CHECKING:
    pass

LISTING = "defwatch_mod_listing"  # meta: the listing's path, as the story's extra["feed"]

# Which listing's title wins when several list one URL (lower first). A date with a time
# always beats a date alone, whatever the rank.
NEWS, KISHA, JINJI, UPDATE = 0, 1, 1, 2

NEWS_SECTION = "お知らせ・報道資料"
KISHA_SECTION = "大臣の記者会見"
JINJI_SECTION = "人事発令"


@dataclass
class Listed:
    """What one listing says about one URL."""

    url: str
    title: str
    published: datetime | None
    listing: str  # path of the listing: /j/rss/news.xml, /j/press/kisha/kisha_ja.js, …
    order: tuple[int, int, int]  # (rank, listing number, position): the first wins
    date_only: bool = False  # ``published`` is a day (midnight JST), not a time
    section: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    link: str | None = None  # as the listing gave it, when ``url`` carries an identity fragment
    fragment_key: bool = False


class ModListings(ModPages):
    """Mixed into the spider, which sets these in its ``__init__`` and merges what is added."""

    pending: int
    indexes: set[str]
    index_links: list[tuple[str, JinjiLink]]
    batches: list[Listed]
    unread_indexes: set[str]

    def add(self, listed: Listed) -> None:
        raise NotImplementedError

    def index_request(self, url: str, optional: bool = False) -> scrapy.Request:
        raise NotImplementedError

    def listing_broken(self, request: scrapy.Request | None, why: str) -> None:
        raise NotImplementedError

    # -- news.xml and update.xml ---------------------------------------------------------
    def read_feed(self, response: Response) -> Iterator[Any]:
        path = response.meta[LISTING]
        content_type = _content_type(response)
        # Item links are relative: resolve them against the URL the feed came from (never
        # the channel <link>, which names the real site).
        # Decoded as a browser does (crawler.encoding): a Shift_JIS feed keeps its 﨑.
        document = parse_feed_document(response.body, content_type, response.url)
        parsed = document.parsed
        for reason in document.decoded.problems:
            self.count(reason)
        if document.controls:
            self.count("control_characters", document.controls)
        damage = document.decoded.damaged
        if damage:
            self.degrade(
                f"{path} has {damage} byte sequence(s) that are not valid {document.decoded.encoding}: "
                "the items they hit are not stored (item_text_damaged) and read again next run"
            )
        entries = parsed.get("entries") or []
        problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
        if not parsed.get("version") and not entries:
            detail = f"{content_type or 'no Content-Type'}" + (f", {problem}" if problem else "")
            self.error("not_a_feed", response.url, detail)
            self.listing_broken(response.request, f"{path} is not an RSS feed ({detail})")
            return
        malformed = problem is not None and not isinstance(problem, ThingsNobodyCaresAboutButMe)
        number = response.meta["defwatch_listing_number"]
        usable = 0
        for position, entry in enumerate(entries):
            link = entry_link(entry)
            if not link:
                self.count("no_link")
                self.logger.warning(
                    "item without a link in %s skipped: %s", path, entry.get("title") or "(untitled)"
                )
                continue
            if damage and damaged(entry_title(entry), entry.get("summary") or ""):
                # Nothing is stored half-decoded: the next fetch (not answered 304, the
                # validators are not kept) reads the item again.
                self.count("item_text_damaged")
                self.logger.warning("item of %s hit by bad bytes, not stored: %s", path, link)
                continue
            usable += 1
            yield from self.feed_entry(entry, urljoin(response.url, link), path, (number, position))
        # The ministry writes Japanese: titles that read as a wrong decoder's degrade the run.
        mojibake = looks_like_mojibake("".join(entry_title(e) for e in entries))
        if mojibake:
            self.count("titles_mojibake")
            decoded = document.decoded
            self.degrade(
                f"titles of {path} read as mojibake (decoded as {decoded.encoding}, from the {decoded.source})"
            )
        if malformed:
            # Not remembered either: a broken feed is fetched in full again next time, and so
            # reported until it is fixed.
            self.count("feed_malformed")
            self.degrade(f"{path} is not well-formed XML ({problem}); kept the {usable} items read before it")
        elif not entries:
            self.count("feed_empty")
            self.degrade(f"{path} lists no items")
        elif not usable:
            self.degrade(f"none of the {len(entries)} items of {path} has a usable link")
        elif not damage and not mojibake:
            self.remember_validators(response)

    def feed_entry(
        self, entry: dict[str, Any], url: str, path: str, place: tuple[int, int]
    ) -> Iterator[scrapy.Request]:
        raw_title = entry.get("title") or ""
        title, had_markup = strip_markup(raw_title)
        extra: dict[str, Any] = {}
        if had_markup:
            self.count("title_markup")
            extra["title_raw"] = raw_title
        if not title:
            self.count("no_title")
        published = self.pubdate(entry, extra)
        categories = entry_categories(entry, squash)
        if categories:
            extra["category"] = categories[0]
            if len(categories) > 1:
                extra["categories"] = categories
        rank = NEWS
        section: str | None = NEWS_SECTION
        if "|" in title or "｜" in title:  # update.xml: <section>|<subject>を掲載
            update = parse_update_title(title)
            rank, section, title = UPDATE, update.section, update.subject
            extra.update(update_section=update.section, update_subject=update.subject)
            if update.action:
                extra["update_action"] = update.action
        listed = Listed(url, title, published, path, (rank, *place), section=section, extra=extra)
        if is_jinji_index(url):
            # A batch of 人事発令: the orders are the index's PDFs, not the index itself.
            if is_personnel(title, url):
                self.batches.append(listed)
            if url_key(url) not in self.indexes:
                self.pending += 1
                yield self.index_request(url)
            return
        self.add(listed)

    def pubdate(self, entry: dict[str, Any], extra: dict[str, Any]) -> datetime | None:
        """The item's pubDate as an aware time in JST (the ministry writes +0900)."""
        raw = (entry.get("published") or entry.get("updated") or "").strip()
        if not raw:
            self.count("no_date")
            return None
        try:
            found = parse_feed_date(raw, self.source.tz)  # an explicit zone wins
        except DateOutOfRange:
            self.count("date_out_of_range")
            extra["published_raw"] = raw[:100]
            return None
        value = found.value if found is not None else None
        if found is not None and found.zone_assumed:
            extra["published_tz_assumed"] = True
        if found is not None and found.date_only:
            extra["published_date_only"] = True
        if value is None:
            parsed = entry.get("published_parsed") or entry.get("updated_parsed")
            if not parsed:
                self.count("invalid_date")
                extra["published_raw"] = raw[:100]
                return None
            try:
                value = datetime.fromtimestamp(calendar.timegm(parsed), JST)  # feedparser's UTC
            except (OverflowError, ValueError, OSError):
                value = datetime.min.replace(tzinfo=JST)  # year 1: counted below
            if not plausible(value):
                self.count("date_out_of_range")
                extra["published_raw"] = raw[:100]
                return None
        return value.astimezone(JST)

    # -- kisha_ja.js ---------------------------------------------------------------------
    def read_kisha(self, response: Response) -> list[Any]:
        path = response.meta[LISTING]
        entries, unreadable = parse_kisha_js(_text(response))
        if unreadable:
            self.count("kisha_entry_unreadable", unreadable)
        if not entries:
            self.count("kisha_unparsed")
            self.degrade(f'{path} lists no press conference as {{date:"…",title:"…",url:"…"}}')
            return []
        number = response.meta["defwatch_listing_number"]
        for position, entry in enumerate(entries):
            # Every conference is titled alike (中谷防衛大臣記者会見); the site's own update
            # notices add the date in brackets, and so does the story.
            title = entry.title or "記者会見"
            if entry.date_text not in title:
                title = f"{title}（{entry.date_text}）"
            self.add(
                Listed(
                    urljoin(response.url, entry.url),
                    title,
                    _midnight(entry.date),
                    path,
                    (KISHA, number, position),
                    date_only=True,
                    section=KISHA_SECTION,
                    extra={"kisha": True},
                )
            )
        self.remember_validators(response)
        return []

    # -- the 人事発令 index ---------------------------------------------------------------
    def read_index(self, response: Response) -> list[Any]:
        path = response.meta[LISTING]
        if not isinstance(response, TextResponse):
            self.error("not_html", response.url)
            self.degrade(f"{path} is not an HTML page")
            return []
        links = jinji_links(response.text, response.url)
        if not links:
            self.count("jinji_index_empty")
            self.degrade(f"{path} links no PDF")
            return []
        number = response.meta["defwatch_listing_number"]
        for position, link in enumerate(links):
            self.index_links.append((response.url, link))
            title = link.text if "人事発令" in link.text else squash(f"人事発令 {link.text}")
            day = parse_era_date_string(link.text) or url_date(link.url)
            self.add(
                Listed(
                    link.url,
                    title,
                    _midnight(day) if day else None,
                    path,
                    (JINJI, number, position),
                    date_only=True,
                    section=JINJI_SECTION,
                    extra={"personnel": True, "link_text": link.text},
                )
            )
        self.remember_validators(response)
        return []

    def match_batches(self) -> None:
        """Give each update.xml 人事発令 notice to the PDFs of its batch on the index it
        links (人事発令(10月1日付 将補人事) → 令和７年１０月１日付　将補人事), so they get its
        time and subject. Only for indexes read in this run: an index answering 304 lists
        nothing new."""
        read = {url_key(index) for index, _ in self.index_links}
        by_batch: dict[tuple[str, tuple[int, int, str]], list[JinjiLink]] = {}
        for index, link in self.index_links:
            key = personnel_key(link.text)
            if key is not None:
                by_batch.setdefault((url_key(index), key), []).append(link)
        for notice in self.batches:
            index = url_key(notice.url)
            if index in self.unread_indexes:
                # The real site challenges the index: the notice is all there is. Kept as
                # the feed gave it, one story per notice, so a 人事発令 rule still fires.
                self.add(as_notice(notice, challenged=True))
                continue
            if index not in read:
                continue
            key = personnel_key(notice.title)
            links = by_batch.get((index, key)) if key is not None else None
            if not links:
                self.count("personnel_notice_unmatched")
                self.logger.info("update.xml notice %r matches no PDF on %s", notice.title, notice.url)
                self.add(as_notice(notice, challenged=False))
                continue
            for link in links:
                self.add(replace(notice, url=link.url, extra={**notice.extra, "personnel": True}))


def as_notice(notice: Listed, challenged: bool) -> Listed:
    """An update.xml 人事発令 notice as a story of its own: the index URL as the link, and
    the notice's subject as the fragment of its identity (every notice links one index)."""
    digest = hashlib.sha1(normalize(notice.title).encode()).hexdigest()[:16]
    extra = {**notice.extra, "personnel": True, "notice": True}
    if challenged:
        extra["challenged"] = True
    return replace(
        notice,
        url=f"{notice.url.split('#', 1)[0]}#notice-{digest}",
        link=notice.url,
        fragment_key=True,
        extra=extra,
    )


def _text(response: Response) -> str:
    if isinstance(response, TextResponse):
        return response.text
    return response.body.decode("utf-8", errors="replace")
