"""Kind ``mod``: the Ministry of Defense, www.mod.go.jp.

The ministry has no one list of what is new, so the spider reads four, each fetched
conditionally (an unchanged listing costs one 304): the feeds news.xml (releases) and
update.xml (site updates: releases again, press conferences, batches of 人事発令), the
press-conference data file kisha_ja.js, and the yearly 人事発令 index that links the
personnel orders as PDFs. Once every listing has answered, what they say about each URL is
merged into one story per URL (news.xml's title and date win; update.xml adds its section
and subject), and only stories not stored yet are followed: PDFs are downloaded and read,
HTML pages fetched (on the real site almost always a bot challenge, which is counted and
never stored as content), anything else stored as the listings gave it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from core.dates import JST
from core.sources import ModOptions
from crawler.base import classify_failure, failure_reason
from crawler.items import StoryItem
from crawler.mod_parse import JinjiLink, is_kisha_url, is_personnel, url_date
from crawler.spiders.mod_listings import LISTING, Listed, ModListings
from crawler.spiders.mod_pages import _is_html, _is_pdf, _midnight
from store import url_key

if TYPE_CHECKING:
    from twisted.python.failure import Failure

CHALLENGED_ROUTE = "challenged_route:"  # + a listing's path, counted in the run's stats


class ModSpider(ModListings, kind="mod"):
    options: ModOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PDFs have their own limit, max_pdf_size; other requests take the source's.
        self.max_pdf_size: int | None = self.options.max_pdf_size or None
        self.fetch_html = self.options.fetch_html
        self.listed: dict[str, list[Listed]] = {}  # url_key -> what each listing said
        self.pending = 0  # listings not answered yet; the merge waits for all of them
        self.listings = 0
        self.indexes: set[str] = set()  # 人事発令 indexes requested in this run
        self.index_links: list[tuple[str, JinjiLink]] = []  # (index URL, link) of indexes read
        self.batches: list[Listed] = []  # update.xml items announcing a batch of orders
        self.unread_indexes: set[str] = set()  # url_keys of indexes challenged or failed
        self.known_challenged = self.previously_challenged()

    # -- the listings --------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        requests = []
        for number, path in enumerate(self.options.feeds):
            requests.append(self.listing_request(path, self.parse_feed, essential=number == 0))
        if self.options.kisha:
            requests.append(self.listing_request(self.options.kisha, self.parse_kisha))
        for path, optional in self.index_paths():
            requests.append(self.index_request(self.absolute(path), optional=optional))
        # Counted before the first one goes out: a listing that answers before the next is
        # even scheduled must not let the merge run early.
        self.pending = len(requests)
        for request in requests:
            yield request

    def index_paths(self) -> Iterator[tuple[str, bool]]:
        """The 人事発令 indexes to read, ``{year}`` being this year in Japan. In January the
        new year's index may not exist yet (a 404 is then only counted), and the last
        year's still gets orders, so both are read."""
        today = datetime.now(JST).date()
        for template in self.options.jinji:
            if "{year}" not in template:
                yield template, False
                continue
            yield template.replace("{year}", str(today.year)), today.month == 1
            if today.month == 1:
                yield template.replace("{year}", str(today.year - 1)), False

    def listing_request(
        self, path_or_url: str, callback: Callable[[Response], Any], *, essential: bool = False
    ) -> scrapy.Request:
        url = self.absolute(path_or_url)
        self.listings += 1
        meta = {
            LISTING: urlsplit(url).path,
            "defwatch_conditional": True,
            "defwatch_essential": essential,
            "defwatch_listing_number": self.listings,
            **self.size_meta(),
        }
        # dont_filter: a listing must always answer, or the merge would wait for it forever.
        return scrapy.Request(
            url, callback=callback, errback=self.on_listing_error, meta=meta, dont_filter=True
        )

    def index_request(self, url: str, optional: bool = False) -> scrapy.Request:
        self.indexes.add(url_key(url))
        request = self.listing_request(url, self.parse_index)
        request.meta["defwatch_optional"] = optional
        request.meta["defwatch_index"] = True
        return request

    # -- routes that answer with a bot challenge -----------------------------------------
    def previously_challenged(self) -> set[str] | None:
        """The listing routes the last finished run found challenged (its
        ``challenged_route:`` counts), or None without such a run (or when it failed, and
        may not have asked): challenged again, a route is a known limit, not news."""
        for run in self.store.runs(self.source.name, limit=3):
            if run["id"] != self.run_id and run["outcome"] != "running":
                if run["outcome"] not in ("ok", "degraded"):
                    return None
                prefix = CHALLENGED_ROUTE
                return {k.removeprefix(prefix) for k in (run["stats"] or {}) if k.startswith(prefix)}
        return None

    def listing_challenged(self, request: scrapy.Request | None, why: str) -> None:
        """A listing answered with a bot challenge. The real site challenges every HTML
        page, the 人事発令 index included: that is a documented limit (``defwatch status``
        shows it), degraded only when the route answered in the last run and now does not.
        The notices that link an unreadable index are kept from the feed (match_batches)."""
        self.count("challenged")
        if request is None:
            return
        path = request.meta[LISTING]
        if request.meta.get("defwatch_index"):
            self.unread_indexes.add(url_key(request.url))
        was_read = self.known_challenged is not None and path not in self.known_challenged
        self.count(CHALLENGED_ROUTE + path)
        if request.meta.get("defwatch_essential") or was_read:
            self.listing_broken(request, why + (" (it answered before)" if was_read else ""))
        else:
            self.logger.info("%s: a known limit (see defwatch status)", why)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        yield from self.listing_answered(response, self.read_feed)

    def parse_kisha(self, response: Response) -> Iterator[Any]:
        yield from self.listing_answered(response, self.read_kisha)

    def parse_index(self, response: Response) -> Iterator[Any]:
        yield from self.listing_answered(response, self.read_index)

    def listing_answered(
        self, response: Response, read: Callable[[Response], Iterable[Any]]
    ) -> Iterator[Any]:
        """Read one listing, then, if it was the last to answer, merge and follow."""
        out: list[Any] = []
        if response.status == 304:
            self.count("not_modified")
        elif self.challenged_answer(response):
            self.listing_challenged(
                response.request, f"{response.meta[LISTING]} answered with a bot challenge"
            )
        else:
            try:
                for thing in read(response):  # one by one: what came before an error still goes
                    out.append(thing)
            except Exception as exc:  # a listing read wrong must not cost the other listings
                self.error("parse_error", response.url, f"{type(exc).__name__}: {exc}")
                self.listing_broken(response.request, f"{response.meta[LISTING]} could not be read")
        yield from out
        yield from self.listing_done()

    def on_listing_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        path = request.meta[LISTING]
        response = failure.value.response if isinstance(failure.value, HttpError) else None
        if response is not None and response.status == 404 and request.meta.get("defwatch_optional"):
            self.count("jinji_index_missing")
            self.logger.info("no 人事発令 index yet at %s", request.url)
        elif response is not None and self.challenged_answer(response):
            self.listing_challenged(request, f"{path} answered with a bot challenge (HTTP {response.status})")
        else:
            if request.meta.get("defwatch_index"):
                self.unread_indexes.add(url_key(request.url))
            reason = "too_large" if failure.check(DownloadCancelledError) else classify_failure(failure)
            self.error(reason, request.url, failure.getErrorMessage()[:200])
            why = (
                failure_reason(failure, request.url)
                if reason == "dns"
                else f"{path} could not be fetched ({reason})"
            )
            self.listing_broken(request, why)
        yield from self.listing_done()

    def listing_broken(self, request: scrapy.Request | None, why: str) -> None:
        if request is not None and request.meta.get("defwatch_essential"):
            self.fail(why)
        else:
            self.degrade(why)

    def listing_done(self) -> Iterator[Any]:
        self.pending -= 1
        if self.pending == 0:
            yield from self.follow_new()

    # -- merging and following -----------------------------------------------------------
    def add(self, listed: Listed) -> None:
        key = url_key(listed.url, self.source.keep_params, listed.fragment_key)
        self.listed.setdefault(key, []).append(listed)

    def follow_new(self) -> Iterator[Any]:
        """One story per URL from everything the listings said; the new ones followed."""
        self.match_batches()
        groups = sorted(self.listed.values(), key=lambda said: min(s.order for s in said))
        stories = [self.merge(said) for said in groups]
        self.listed.clear()
        known = self.known([s.url for s in stories if not s.fragment_key])
        known |= self.known([s.url for s in stories if s.fragment_key], fragment=True)
        self.skip_known(len(known))
        for story in stories:
            if story.url not in known:
                yield self.follow(story)

    def merge(self, said: list[Listed]) -> StoryItem:
        by_rank = sorted(said, key=lambda s: s.order)
        first = by_rank[0]
        title = next((s.title for s in by_rank if s.title), "")
        dated = sorted((s for s in by_rank if s.published), key=lambda s: (s.date_only, s.order))
        extra: dict[str, Any] = {}
        for s in reversed(by_rank):  # the first listing's word wins
            extra.update(s.extra)
        extra["feed"] = first.listing
        extra["listed_in"] = list(dict.fromkeys(s.listing for s in by_rank))
        published = dated[0].published if dated else None
        if dated and dated[0].date_only:
            extra["published_date_only"] = True
            extra["published_from"] = dated[0].listing
        in_url = url_date(first.url)
        if published is None and in_url is not None:
            published = _midnight(in_url)
            extra.update(published_date_only=True, published_from="url")
        elif published is not None and in_url is not None and in_url != published.astimezone(JST).date():
            extra["url_date"] = in_url.isoformat()
        if is_personnel(title, first.url):
            extra["personnel"] = True
        if is_kisha_url(first.url):
            extra["kisha"] = True
        return StoryItem(
            url=first.url,
            title=title,
            published=published,
            kind="pdf" if _is_pdf(first.url) else "item",
            section=next((s.section for s in by_rank if s.section), None),
            complete=False,
            extra=extra,
            link=first.link,
            fragment_key=first.fragment_key,
        )

    def follow(self, story: StoryItem) -> StoryItem | scrapy.Request:
        if story.fragment_key:
            return story  # a notice kept from the feed: its page is the (challenged) index
        if story.kind == "pdf":
            return self.pdf_request(story)
        if self.fetch_html and _is_html(story.url):
            return self.page_request(story)
        return story
