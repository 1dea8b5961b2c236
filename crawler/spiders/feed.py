"""Kind ``feed``: any RSS 0.9x/1.0/2.0 or Atom 1.0 feed, by configuration alone.

Also the home of :class:`ListingSpider`, what the ``feed`` and ``page`` kinds share: one URL
that lists stories, fetched conditionally and within a size limit; known stories skipped;
new ones optionally read in full from their own pages (``fetch_articles``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, time
from time import struct_time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXException

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from core.config import format_size
from core.dates import plausible
from core.sources import FeedOptions, PageOptions
from core.text import fold_whitespace, summarize
from crawler.addresses import PrivateAddressRefused
from crawler.base import DefwatchSpider, classify_failure, failure_reason
from crawler.encoding import Decoded, looks_like_mojibake
from crawler.extract import Article, html_to_text, parse_datetime, read_feed_article
from crawler.feed_dates import DateOutOfRange, parse_feed_date
from crawler.feed_entries import (
    FeedDocument,
    damaged,
    entry_categories,
    entry_link,
    entry_title,
    parse_feed_document,
)
from crawler.items import StoryItem
from crawler.limits import is_http_url
from store.urls import url_key

if TYPE_CHECKING:
    from twisted.python.failure import Failure

STORY_META = "defwatch_story"


class ListingSpider(DefwatchSpider):
    options: FeedOptions | PageOptions

    """A source whose URL lists stories: a feed, or a listing page read with selectors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set[str] = set()

    # -- requests ------------------------------------------------------------------------
    def listing_request(
        self, url: str, callback: Any, *, first: bool = False, meta: dict[str, Any] | None = None
    ) -> scrapy.Request:
        """A conditional request for a feed or listing page; the first one is essential.

        ``dont_filter`` on the first lets a redirect loop run into REDIRECT_MAX_TIMES (and be
        reported) instead of being dropped silently as a duplicate request. Other hosts are
        allowed: the configuration chose the URL, and a site may move (or paginate) elsewhere.
        """
        meta = {**(meta or {}), **self.size_meta(), "defwatch_essential": first, "allow_offsite": True}
        return self.request(url, callback, conditional=True, meta=meta, dont_filter=first)

    def article_request(self, story: StoryItem) -> scrapy.Request:
        # The listing chose the link, so it may point to another host (a CDN, www vs apex).
        meta = {**self.size_meta(), STORY_META: story, "allow_offsite": True}
        return scrapy.Request(
            story.url, callback=self.parse_article, errback=self.on_article_error, meta=meta
        )

    def on_request_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else None
        limit = (request.meta.get("download_maxsize") if request is not None else None) or (
            self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        )
        reason, words = describe_failure(failure, limit, self.crawler.settings.getint("REDIRECT_MAX_TIMES"))
        self.error(reason, url, words)
        if request is not None and request.meta.get("defwatch_essential"):
            # After redirects, name the URL the source asked for, not the last hop.
            asked = request.meta.get("redirect_urls", [url])[0]
            self.fail(failure_reason(failure, asked) if reason == "dns" else f"{words} at {asked}")

    def remember_validators_unless_degraded(self, response: Response) -> None:
        """Keep validators only for an answer that read well: otherwise the next run would get
        a 304 for the same broken answer and look healthy."""
        if not self.degraded_reasons:
            self.remember_validators(response)

    # -- stories -------------------------------------------------------------------------
    def new_stories(self, stories: Iterable[StoryItem]) -> list[Any]:
        """Stories not stored yet (and not seen earlier in this run): as they are, or as
        requests for their article pages. Known ones are counted as skipped."""
        fresh = []
        for story in stories:
            if not is_http_url(story.url):  # javascript:, data:, mailto: (crawler.limits)
                self.count("not_http_link")
                continue
            if story.url not in self.seen:
                self.seen.add(story.url)
                fresh.append(story)
        known = self.known([s.url for s in fresh if not s.fragment_key])
        known |= self.known([s.url for s in fresh if s.fragment_key], fragment=True)
        self.skip_known(len(known))
        fetch = self.options.fetch_articles
        return [self.article_request(s) if fetch else s for s in fresh if s.url not in known]

    def check_mojibake(self, stories: Iterable[StoryItem], language: str, decoded: str, url: str) -> None:
        """A Japanese, Chinese or Korean listing whose titles read as a wrong decoder's
        (mostly Latin-1 letters or half-width katakana: crawler.encoding) degrades the run:
        stored as read, but never ``ok``, and its validators are not kept."""
        if not language.lower().startswith(("ja", "zh", "ko")):
            return
        if looks_like_mojibake("".join(s.title for s in stories)):
            self.count("titles_mojibake")
            self.degrade(f"titles read as mojibake for a {language} {self.kind} ({decoded}) at {url}")

    def had_items(self) -> bool:
        """Whether this source has given stories before (so an empty answer is suspicious)."""
        return self.store.has_stories(self.source.name)

    def published(
        self,
        raw: str | None,
        extra: dict[str, Any],
        fmt: str | None = None,
        fallback: struct_time | None = None,
    ) -> datetime | None:
        """A listed date as an aware datetime (crawler.feed_dates: an explicit offset or zone
        name wins). A date without a zone is read in the source's time zone and
        ``extra["published_tz_assumed"]`` says so; a date without a time is midnight there,
        and ``extra["published_date_only"]`` says so. ``fallback`` is feedparser's reading
        (UTC), for the rare forms only it knows."""
        if not raw or not raw.strip():
            self.count("no_date")
            return None
        if fmt is None:
            try:
                found = parse_feed_date(raw, self.source.tz)
            except DateOutOfRange:
                self.count("date_out_of_range")
                extra["published_raw"] = raw.strip()[:100]
                return None
            if found is not None:
                if found.zone_assumed:
                    extra["published_tz_assumed"] = True
                if found.date_only:
                    extra["published_date_only"] = True
                return found.value
        try:
            parsed = parse_datetime(raw, self.source.tz, fmt)
        except (OverflowError, ValueError):
            parsed = None
        # feedparser rolls impossible ISO dates over (2025-13-45 is 2026-01-01): only other
        # forms (asctime, Korean, Greek, Hungarian...) are taken from it.
        if parsed is None and fallback is not None and fmt is None and not _ISO_START.match(raw):
            value = datetime(*fallback[:6], tzinfo=UTC)
            if plausible(value):
                extra["published_from"] = "feedparser"
                return value
        if parsed is None or not plausible(parsed.value):
            self.count("invalid_date" if parsed is None else "date_out_of_range")
            extra["published_raw"] = raw.strip()[:100]
            return None
        if parsed.tz_assumed:
            extra["published_tz_assumed"] = True
        return parsed.value

    # -- article pages -------------------------------------------------------------------
    async def parse_article(self, response: Response) -> AsyncIterator[StoryItem]:
        story: StoryItem = response.meta[STORY_META]
        article = None
        if isinstance(response, TextResponse):
            # Read in the worker process (crawler.worker) while the crawl goes on fetching.
            # The page's own title, date and author are looked for only when the listing
            # lacks a title or a date: that half of trafilatura's work is otherwise wasted.
            # Its fast reading is taken unless the item's own title and summary put it in
            # doubt (crawler.extract.read_feed_article); then the full one stands.
            try:
                article = await self.offload(
                    read_feed_article,
                    response.body,
                    response.url,
                    metadata=not story.title or story.published is None,
                    title=story.title,
                    summary=story.summary,
                )
            except CloseSpider:
                raise
            except Exception as exc:  # a reader's bug or a page that breaks it: keep the story
                self.read_failed(response.url, exc)
                yield story
                return
        if article is None:
            self.error("article_unreadable", response.url, "no main text found; kept what the listing said")
            yield story
            return
        yield self.with_article(story, article)

    def on_article_error(self, failure: Failure) -> Iterator[StoryItem]:
        """Count the failure and keep the story as the listing gave it (title, date, summary)."""
        self.on_request_error(failure)
        request = getattr(failure, "request", None)
        story = request.meta.get(STORY_META) if request is not None else None
        if story is not None:
            yield story

    def with_article(self, story: StoryItem, article: Article) -> StoryItem:
        extra = dict(story.extra)
        published = story.published
        if published is None and article.published is not None:
            from_page = datetime.combine(article.published, time(0, 0), tzinfo=self.source.tz)
            if plausible(from_page):  # a page dated 9999-12-31 is no date (core.dates)
                published = from_page
                extra["published_tz_assumed"] = True
                extra["published_from"] = "article"
        if article.author and "author" not in extra:
            extra["author"] = article.author
        return replace(
            story,
            title=story.title or article.title,
            published=published,
            body=article.text,
            kind="article",
            complete=True,
            extra=extra,
        )


def describe_failure(failure: Failure, max_size: int, max_redirects: int) -> tuple[str, str]:
    """A failed request as (the reason counted in the run, words for a person)."""
    if isinstance(failure.value, HttpError):
        status = failure.value.response.status
        if status == 410:
            return "http_410", "gone (HTTP 410): the server says it was removed for good"
        wait = failure.value.response.headers.get(b"Retry-After")
        if status == 429 and wait:
            # Not retried in this run (crawler.settings RETRY_HTTP_CODES): the next scheduled run asks again.
            asks = wait.decode("latin-1").strip()[:40]
            asks = f"{asks} s" if asks.isdigit() else asks
            return (
                f"http_{status}",
                f"HTTP {status}: the source asks to wait {asks} (Retry-After); not retried",
            )
        return f"http_{status}", f"HTTP {status}"
    if failure.check(IgnoreRequest) and "redirection" in str(failure.value):
        return "redirect_loop", f"more than {max_redirects} redirects (a redirect loop?)"
    if failure.check(PrivateAddressRefused):
        return "private_address", str(failure.value)
    if failure.check(IgnoreRequest) and "DOWNLOAD_MAXSIZE" in str(failure.value):
        return (
            "too_large",
            f"response larger than the {format_size(max_size)} limit once decompressed, stopped",
        )
    if failure.check(DownloadCancelledError):
        # Scrapy cancels a download for one reason only: it outgrew DOWNLOAD_MAXSIZE.
        return "too_large", f"response larger than the {format_size(max_size)} limit, download stopped"
    if failure.check(DownloadTimeoutError):
        return "timeout", "no answer in time"
    if failure.check(DownloadConnectionRefusedError):
        return "connection_refused", "connection refused"
    if failure.check(CannotResolveHostError):
        return "dns", "cannot resolve host"
    return classify_failure(failure), failure.getErrorMessage()[:200] or type(failure.value).__name__


# --------------------------------------------------------------------------------------
# Kind "feed"
# --------------------------------------------------------------------------------------


class FeedSpider(ListingSpider, kind="feed"):
    options: FeedOptions

    async def start(self) -> AsyncIterator[Any]:
        yield self.listing_request(self.source.url, self.parse_feed, first=True)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            self.count("not_modified")
            return
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        limit = self.options.max_items or FeedOptions.max_items
        document = parse_feed_document(response.body, content_type, response.url, limit)
        parsed, decoded = document.parsed, document.decoded
        entries = parsed.get("entries", [])
        if not parsed.get("version") and not entries:
            problem = parsed.get("bozo_exception")
            detail = f"{content_type or 'no Content-Type'}" + (f", {problem}" if problem else "")
            self.error("not_a_feed", response.url, detail)
            self.fail(f"not an RSS or Atom feed ({detail}) at {response.url}")
            return
        self.decoding_reported(document, response.url)
        if parsed.get("bozo"):
            self.count("feed_not_well_formed")
            problem = parsed.get("bozo_exception")
            if isinstance(problem, SAXException):  # broken XML, not a charset quibble
                where = f"line {problem.getLineNumber()}: " if hasattr(problem, "getLineNumber") else ""
                self.degrade(
                    f"the feed is not well-formed XML ({where}{problem.getMessage()}); read leniently"
                )
        if document.items_cut:
            self.count("items_over_limit", document.items_cut)
            self.degrade(
                f"the feed lists {limit + document.items_cut} items; read the first {limit} "
                "(max_items; more would take minutes to parse)"
            )
        stories = [s for s in (self.story(e, response.url, decoded) for e in entries) if s is not None]
        stories = identify(stories, self.source.keep_params)
        if not entries:
            if self.had_items():
                self.degrade(f"the feed lists no items, though it had some before ({response.url})")
            else:
                self.count("feed_empty")
        elif not stories:
            self.degrade(f"none of the feed's {len(entries)} items could be used (see the counts)")
        else:
            language = str(self.options.language or parsed.get("feed", {}).get("language") or "")
            self.check_mojibake(
                stories, language, f"decoded as {decoded.encoding}, from the {decoded.source}", response.url
            )
        yield from self.new_stories(stories)
        self.remember_validators_unless_degraded(response)

    def decoding_reported(self, document: FeedDocument, url: str) -> None:
        """Count what decoding had to assume or repair; bad bytes degrade the run."""
        decoded = document.decoded
        for problem in decoded.problems:
            self.count(problem)
        if decoded.source == "detected":
            self.logger.info("%s declares no usable encoding: read as %s (detected)", url, decoded.encoding)
        if document.controls:
            self.count("control_characters", document.controls)
        if decoded.damaged:
            self.degrade(
                f"{decoded.damaged} byte sequence(s) of the feed are not valid {decoded.encoding}: "
                f"the items they hit are not stored (item_text_damaged) and read again next run"
            )

    def story(self, entry: dict[str, Any], base_url: str, decoded: Decoded | None = None) -> StoryItem | None:
        title = entry_title(entry)
        link = entry_link(entry)
        if not link:
            # No link, no story: defwatch identifies stories by URL and its own feeds link to
            # them. (RSS guids that are URLs were already taken as links.) See docs/sources.md.
            self.count("no_link")
            self.logger.info("feed item without a link skipped: %s", title or entry.get("id") or "(untitled)")
            return None
        extra: dict[str, Any] = {}
        raw_date = entry.get("published") or entry.get("updated") or entry.get("created")
        fallback = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
        published = self.published(raw_date, extra, fallback=fallback)
        categories = entry_categories(entry)
        if categories:
            extra["categories"] = categories
        if entry.get("id"):
            extra["guid"] = entry["id"]
        if entry.get("author"):
            extra["author"] = fold_whitespace(entry["author"])
        body = _body(entry)
        summary = _text(entry, "summary")
        if decoded is not None:
            if decoded.damaged and damaged(title, summary, body, link):
                # Nothing is stored half-decoded: the run is degraded, so the feed's validators
                # are not kept and the next fetch reads the item again.
                self.count("item_text_damaged")
                self.logger.warning("feed item hit by bad bytes, not stored: %s", link)
                return None
            if decoded.source == "detected":
                extra["encoding_assumed"] = decoded.encoding
        return StoryItem(
            url=urljoin(base_url, link),
            title=title,
            published=published,
            body=body,
            summary=summarize(summary or body),
            kind="item",
            complete=False,
            extra=extra,
        )


_ISO_START = re.compile(r"\s*\d{4}-")


def identify(stories: list[StoryItem], keep_params: tuple[str, ...] = ()) -> list[StoryItem]:
    """One story per item identity. Items linking one page with different fragments and
    different titles or guids are distinct stories (the fragment identifies the item there);
    the same page listed again with the same title is one story. When one page is listed
    under several titles without fragments to tell them apart, the story keeps the newest
    title and the others (oldest first) become its revisions (``StoryItem.earlier``)."""
    groups: dict[str, list[StoryItem]] = {}
    for story in stories:
        groups.setdefault(url_key(story.url, keep_params), []).append(story)
    out: list[StoryItem] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        fragments = {urlsplit(s.url).fragment for s in group}
        names = {(s.title, s.extra.get("guid")) for s in group}
        if len(fragments) > 1 and len(names) > 1:
            seen: set[str] = set()
            for story in group:
                key = url_key(story.url, keep_params, fragment=True)
                if key not in seen:
                    seen.add(key)
                    out.append(replace(story, fragment_key=True))
            continue
        # Oldest first; undated items count as older than dated ones, and keep feed order
        # (newest first, as feeds list) among themselves.
        ordered = sorted(
            reversed(group), key=lambda s: s.published.timestamp() if s.published else float("-inf")
        )
        newest = ordered[-1]
        earlier: dict[str, tuple[str, str, datetime | None]] = {}
        for story in ordered[:-1]:
            if story.title and story.title != newest.title:
                earlier.pop(story.title, None)
                earlier[story.title] = (story.title, story.summary, story.published)
        out.append(replace(newest, earlier=list(earlier.values())))
    return out


def _text(entry: dict[str, Any], key: str) -> str:
    """A title or summary as one line of plain text."""
    detail = entry.get(f"{key}_detail") or {}
    return " ".join(_lines(entry.get(key) or "", detail.get("type", "text/html")))


def _body(entry: dict[str, Any]) -> str:
    """The full text some feeds carry (``content:encoded``, Atom ``content``), by paragraph."""
    content = entry.get("content") or []
    if not content:
        return ""
    return "\n".join(_lines(content[0].get("value") or "", content[0].get("type", "text/html")))


# WordPress (with Yoast SEO) ends every item with "The post X appeared first on Y."
_WORDPRESS_FOOTER = re.compile(r"^The post .+ appeared first on .+\.$")


def _lines(value: str, content_type: str) -> list[str]:
    text = fold_whitespace(value) if content_type in ("text/plain", "text") else html_to_text(value, True)
    return [line for line in text.splitlines() if not _WORDPRESS_FOOTER.match(line)]
