"""Kind ``jdefense``: Jディフェンスニュース (j-defense.ikaros.jp), a site with no feed.

New articles are found by every route the site offers, because any one of them may miss
some (docs/sites.md §1): links on the home page, on the section index pages
(``/docs/<section>/``) and in the reading-ranking lists, and by probing the ids after the
highest one known. A run goes:

1. the home page and the configured section pages; the home page's ranking block gives one
   snapshot per window (``24h``, ``1w``, ``1m``);
2. once all of them have answered: every linked article not stored yet, and the id probe:
   ``/docs/<section>/NNNNNN.html`` for each configured section, for the ids after the
   highest id known (stored, or linked in step 1), until ``probe_misses`` ids in a row
   answer nothing (a 404 gap is stepped over) or ``probe_max`` ids have been tried;
3. when the home page had no ranking block, the first article page read gives the
   snapshots (and a known article page is read for them if no new one was).

Options (core/sources/jdefense.py): ``sections`` restricts the section pages read and the sections
each probed id is tried under (an article answers only under its own section, so a probed id
costs one request per section); by default every section the home page's navigation links
(``/docs/<section>/``) is read, and a configured section the navigation does not link, or
one it linked in an earlier run and no longer does, is reported (the run degraded). Articles of other sections are still read when a page links them.
``selectors`` (``[sources.selectors]``, :mod:`crawler.selectors`) are used before the
structural readers and held to the same checks. ``probe_misses`` (default 5) ends the probe, ``probe_max``
(default 50) bounds the ids probed in one run.

An article is read from what the page shows (:mod:`crawler.extract_article`): the title is
the heading right before the date line, the date line (``YYYY-M-D HH:MM``, JST) gives the
published time, the paragraphs after it the body; metadata and trafilatura/htmldate are
fallbacks, and ``extra["routes"]`` says which route gave each field.

Every reader checks itself (:mod:`crawler.checks`): a ranking window is stored only when it
lists 5-20 distinct articles with ranks 1..n, every entry titled as its article is; a body
only when it agrees with trafilatura's reading of the page (its fast mode, on the tree already
parsed: the same verdict as its full mode on every template family, tests/crawler/test_self_check.py,
at half the cost). A failed check marks the run degraded with the exact reason, and the page is
kept (:mod:`crawler.saved_pages`).

A half-read article is never stored: a truncated page (no closing tags), a page whose title
or date no route finds, a page without body paragraphs, a 500, a timeout or a redirect to
another site is skipped with its reason counted in the run (``truncated``, ``no_date``,
``no_title``, ``no_body``, ``http_500``, ``timeout``, ``redirect_offsite``). Not being
stored, it is requested again by the next run. A page with no title or no date by any route
also marks the run degraded, as do a home page without article links and a ranking block
that cannot be read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Response, TextResponse

from core.dates import parse_era_dates
from core.sources import JDefenseOptions
from core.text import summarize
from crawler.base import classify_failure, failure_reason
from crawler.extract_article import ArticleFields, HtmlPage, RankingBlock, links, parse_page
from crawler.items import StoryItem
from crawler.jdefense_probe import IdProbe, Probe
from crawler.jdefense_ranking import RankingSteps
from crawler.jdefense_read import (
    ARTICLE_PATH,
    ARTICLE_SHAPE,
    SECTION_PATH,
    ArticleRef,
    ArticleUrls,
    read_article_page,
)
from crawler.saved_pages import data_folder
from crawler.selectors import select_links
from crawler.url_shape import link_lists, listing_problem

if TYPE_CHECKING:
    from twisted.python.failure import Failure

NAV_SECTION = "nav_section:"  # + a section the navigation links, counted in the run's stats
SECTION_NAME = re.compile(r"^[a-z0-9_-]+$")


REDIRECTS = [301, 302, 303, 307, 308]
ARTICLE_META = "defwatch_article"


class JDefenseSpider(RankingSteps, IdProbe, kind="jdefense"):
    options: JDefenseOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # None: every section the home page's navigation links (known once it is read).
        configured = self.options.sections
        self.restricted: list[str] | None = list(configured) if configured else None
        self.sections: list[str] = list(self.restricted or [])
        self.selectors: dict[str, str] | None = dict(self.options.selectors or {}) or None
        assert self.config is not None
        self.pages_folder = data_folder(self.config.store.url)
        for section in self.sections:
            if not SECTION_NAME.match(section):
                raise ValueError(
                    f"sources.{self.source.name}.sections: {section!r} is not a path segment "
                    "(expected e.g. mod, world)"
                )
        self.probe_misses = max(1, self.options.probe_misses)
        self.probe_max = self.options.probe_max
        host = urlsplit(self.base_url)
        self.site = f"{host.scheme}://{host.netloc}"
        self.is_article_url = ArticleUrls(host.netloc.lower())
        self.articles: dict[str, ArticleRef] = {}  # url -> ref, every article seen this run
        self.requested: set[str] = set()
        self.skipped_known: set[str] = set()
        self.section_labels: dict[str, str] = {}
        self.listings_pending = 0
        self.probe: Probe | None = None
        self.ranking_stored = False
        self.ranking_from_articles = False  # the home page had no ranking block
        self.ranking_fallback_tried = False
        self.ranking_problem: str | None = None
        self.article_pages_read = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> JDefenseSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, JDefenseSpider)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    # -- URLs -------------------------------------------------------------------------------
    def article_ref(self, url: str, *, any_host: bool = False) -> ArticleRef | None:
        """The article a URL points to on this site (any scheme), or None. ``any_host`` for
        URLs this source stored, which are the site's whatever host they were read from."""
        parts = urlsplit(url)
        if not any_host and not self.is_article_url.on_site(parts.netloc):
            return None
        m = ARTICLE_PATH.match(parts.path)
        if m is None:
            return None
        canonical = f"{self.site}/docs/{m['section']}/{m['id']}.html"
        return self.articles.get(canonical) or ArticleRef(canonical, m["section"], m["id"])

    def see(self, url: str, route: str) -> ArticleRef | None:
        ref = self.article_ref(url)
        if ref is not None:
            ref = self.articles.setdefault(ref.url, ref)
            ref.routes.add(route)
        return ref

    # -- step 1: the home page and the section pages ------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        self.listings_pending = 1 + len(self.sections)
        yield self.listing(self.base_url, self.parse_home, essential=True)
        for section in self.sections:
            yield self.listing(f"{self.site}/docs/{section}/", self.parse_section)

    def nav_sections(self, page: HtmlPage) -> Iterator[scrapy.Request]:
        """Section pages the home page links (its navigation): every one by default, and a
        configured section it no longer links is reported."""
        linked: list[str] = []
        for link in links(page, lambda url: SECTION_PATH.match(urlsplit(url).path) is not None):
            m = SECTION_PATH.match(urlsplit(link.url).path)
            if m and self.is_article_url.on_site(urlsplit(link.url).netloc):
                if link.text:
                    self.section_labels.setdefault(m["section"], link.text)
                if m["section"] not in linked:
                    linked.append(m["section"])
        for section in linked:
            self.count(NAV_SECTION + section)
        if linked and self.restricted is None:
            gone = [s for s in self.previously_linked() if s not in linked]
            for section in gone:
                self.count("section_gone")
                self.degrade(
                    f"section {section!r} was linked from the home page's navigation in an earlier "
                    f"run and no longer is (linked: {', '.join(linked)}); its page is read this once"
                )
                if SECTION_NAME.match(section) and section not in self.sections:
                    self.sections.append(section)
                    self.listings_pending += 1
                    yield self.listing(f"{self.site}/docs/{section}/", self.parse_section)
        if self.restricted is not None:
            for section in self.restricted:
                if linked and section not in linked:
                    self.count("section_not_linked")
                    self.degrade(
                        f"section {section!r} is configured but no longer linked from the home page's "
                        f"navigation (linked: {', '.join(linked)})"
                    )
            return
        if not linked:
            self.count("no_sections_linked")
            self.logger.warning("the home page's navigation links no section page")
        for section in linked:
            if SECTION_NAME.match(section) and section not in self.sections:
                self.sections.append(section)
                self.listings_pending += 1
                yield self.listing(f"{self.site}/docs/{section}/", self.parse_section)

    def previously_linked(self) -> list[str]:
        """The sections the navigation linked in the last run that read it (its
        ``nav_section:`` counts), of the last few runs."""
        for run in self.store.runs(self.source.name, limit=5):
            if run["id"] == self.run_id or run["outcome"] == "running":
                continue
            found = [k.removeprefix(NAV_SECTION) for k in (run["stats"] or {}) if k.startswith(NAV_SECTION)]
            if found:
                return found
        return []

    def listing(self, url: str, callback: Any, *, essential: bool = False) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_listing_error,
            meta={"defwatch_essential": essential, **self.size_meta()},
            dont_filter=essential,
        )

    def parse_home(self, response: Response) -> Iterator[Any]:
        page = self.page(response)
        if page is None:
            self.degrade(f"the home page is not readable HTML ({response.url})")
            yield from self.listing_done()
            return
        ranking = self.ranking_block(page)
        listed = [url for url in self.listed_links(page, ranking) if self.see(url, "home")]
        self.check_url_shape(page, ranking, response, "home")
        yield from self.nav_sections(page)
        if not listed:
            # Not degraded by itself: the list may be built by script (docs/sites.md) and
            # the section pages and the ranking still find articles; see listing_done.
            self.count("home_list_empty")
            self.logger.warning("the home page lists no article links (built by script?): %s", response.url)
        if ranking.found:
            yield from self.take_ranking(ranking, "home", response)
        else:
            self.count("home_without_ranking")
        # Without a readable block on the home page, article pages give the snapshots.
        self.ranking_from_articles = not self.ranking_stored
        yield from self.listing_done()

    def parse_section(self, response: Response) -> Iterator[Any]:
        page = self.page(response)
        listed = []
        if page is not None:
            block = self.ranking_block(page)
            listed = [url for url in self.listed_links(page, block) if self.see(url, "section")]
            self.check_url_shape(page, block, response, "section")
        if not listed:
            self.count("section_page_empty")
            self.logger.warning("section page lists no article links: %s", response.url)
        yield from self.listing_done()

    def on_listing_error(self, failure: Failure) -> Iterator[Any]:
        self.on_request_error(failure)
        yield from self.listing_done()

    def listed_links(self, page: HtmlPage, ranking: RankingBlock) -> list[str]:
        """Article links of a listing page outside its ranking block (the source's
        ``article_links`` selector first, when it has one)."""
        chosen = select_links(self.selectors, page.doc)
        if chosen is not None:
            urls = [page.absolute((a.get("href") or "").strip()) for a in chosen if a.get("href")]
            found = [u for u in urls if self.is_article_url(u)]
            if found:
                return found
            self.count("selector_article_links_empty")
        return [link.url for link in links(page, self.is_article_url, exclude=ranking.elements())]

    def check_url_shape(self, page: HtmlPage, ranking: RankingBlock, response: Response, where: str) -> None:
        """A listing whose article list links pages outside the article URL shape (the site
        moved its articles?) degrades the run with the reason; a few such links beside many
        in the shape are counted."""
        lists = link_lists(page, self.is_article_url, exclude=ranking.elements())
        problem = listing_problem(lists, ARTICLE_SHAPE)
        if problem is not None:
            self.count("listing_url_shape")
            self.refuse(
                response,
                "listing_url_shape",
                f"the {where} page's article list fails its url-shape check: {problem}",
            )
            return
        outside = [u for x in lists if x.in_shape for u in x.outside]
        if outside:
            self.count("listing_links_off_shape", len(outside))
            self.logger.warning(
                "%d title links beside the articles of %s are outside the article URL shape, e.g. %s",
                len(outside),
                response.url,
                outside[0],
            )

    def listing_done(self) -> Iterator[Any]:
        self.listings_pending -= 1
        if self.listings_pending == 0:
            if not self.articles:
                self.degrade("no article links on the home page, the section pages or in the ranking")
            yield from self.request_new(self.articles.values())
            yield from self.start_probe()

    # -- step 2: articles ------------------------------------------------------------------------
    def request_new(self, refs: Iterable[ArticleRef]) -> Iterator[scrapy.Request]:
        """Requests for the articles not stored yet and not requested in this run."""
        fresh = [r for r in refs if r.url not in self.requested and r.url not in self.skipped_known]
        known = self.known([r.url for r in fresh])
        self.skipped_known |= known
        self.skip_known(len(known))
        for ref in sorted(fresh, key=lambda r: r.id, reverse=True):
            if ref.url not in known:
                yield self.article_request(ref)

    def article_request(self, ref: ArticleRef, *, probe_id: int | None = None) -> scrapy.Request:
        self.requested.add(ref.url)
        meta: dict[str, Any] = {
            **self.size_meta(),
            ARTICLE_META: ref,
            # Redirects are looked at before being followed: one to another site is never
            # requested (and counted), one within the site is followed by hand.
            "dont_redirect": True,
            "handle_httpstatus_list": [*REDIRECTS, 404] if probe_id is not None else REDIRECTS,
        }
        if probe_id is not None:
            meta["probe_id"] = probe_id
        return scrapy.Request(ref.url, callback=self.parse_article, errback=self.on_article_error, meta=meta)

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        ref: ArticleRef = response.meta[ARTICLE_META]
        probe_id: int | None = response.meta.get("probe_id")
        if response.status == 404:  # only probes let a 404 through
            self.count("probe_404")
            for out in self.probe_answer(probe_id, found=False):
                yield out
            return
        if response.status in REDIRECTS:
            for out in self.follow_redirect(response, ref):
                yield out
            for out in self.probe_answer(probe_id, found=True):
                yield out
            return
        for out in self.probe_answer(probe_id, found=True):
            yield out
        if not isinstance(response, TextResponse):
            self.error("not_html", response.url)
            return
        self.articles.setdefault(ref.url, ref)
        self.article_pages_read += 1
        if self.ranking_from_articles and not self.ranking_stored:
            # No ranking block on the home page: this page's gives the snapshots.
            page = self.page(response)
            ranking = self.ranking_block(page) if page is not None else None
            if ranking is not None and ranking.found:
                for out in self.take_ranking(ranking, "article", response):
                    yield out
        # The page itself is read in the worker process (crawler.worker): parsing and reading
        # are most of a page's cost, and the crawl goes on fetching meanwhile.
        fields = await self.offload(
            read_article_page,
            response.text,
            response.url,
            self.source.tz,
            self.is_article_url,
            self.selectors,
        )
        if fields is None:
            self.error("not_html", response.url)
            return
        story = self.story(ref, fields, response)
        if story is not None:
            yield story

    def follow_redirect(self, response: Response, ref: ArticleRef) -> Iterator[scrapy.Request]:
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(response.url, location)
        moved = self.article_ref(target)
        if moved is None or response.meta.get("defwatch_redirected"):
            self.error("redirect_offsite" if moved is None else "redirect_loop", response.url, f"to {target}")
            return
        self.count("redirect")
        moved.routes |= ref.routes
        self.articles.setdefault(moved.url, moved)
        if moved.url in self.requested or self.known([moved.url]):
            return
        request = self.article_request(moved)
        request.meta["defwatch_redirected"] = True
        yield request

    def on_request_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else None
        reason = "timeout" if failure.check(DownloadTimeoutError) else classify_failure(failure)
        self.error(reason, url, failure.getErrorMessage()[:200])
        if request is not None and request.meta.get("defwatch_essential"):
            self.fail(f"{reason} at {url}" if reason == "timeout" else failure_reason(failure, url))

    def on_article_error(self, failure: Failure) -> Iterator[Any]:
        self.on_request_error(failure)
        request = getattr(failure, "request", None)
        if request is not None:
            yield from self.probe_answer(request.meta.get("probe_id"), found=False, failed=True)

    def story(self, ref: ArticleRef, fields: ArticleFields, response: Response) -> StoryItem | None:
        """The story of a fully read article page, or None (reason counted) for a half-read one."""
        url = response.url
        if "\ufffd" in (fields.title or "") + fields.body:
            self.count("undecodable_text")
        if fields.truncated:
            self.error("truncated", url, "the page ends before its closing tags; retried next run")
            return None
        if fields.title is None:
            self.error("no_title", url)
            self.degrade(f"an article page has no title by any route ({url})")
            return None
        if fields.published is None:
            self.error("no_date", url)
            self.degrade(f"an article page has no date by any route ({url})")
            return None
        if not fields.paragraphs:
            self.error("no_body", url)
            self.refuse(response, "no_body", "an article page has no body by any route")
            return None
        if fields.problem is not None:
            self.error("article_check_failed", url, fields.problem)
            self.refuse(response, "article_check_failed", f"an article failed its checks ({fields.problem})")
            return None
        encoding = getattr(response, "encoding", "utf-8") or "utf-8"
        if encoding.lower().replace("-", "") not in ("utf8", "ascii"):
            self.count(f"encoding_{encoding.lower().replace('-', '_')}")
        routes = dict(fields.routes)
        label = self.section_label(ref.section, fields, routes)
        body = fields.body
        return StoryItem(
            url=ref.url,
            title=fields.title,
            published=fields.published,
            body=body,
            summary=summarize(body),
            kind="article",
            section=ref.section,
            complete=True,
            extra={
                "article_id": ref.id,
                "section_label": label,
                "categories": fields.categories,
                "era_dates": [
                    {
                        "text": d.text,
                        "date": d.date.isoformat(),
                        "start": d.start.isoformat() if d.start else None,
                        "end": d.end.isoformat() if d.end else None,
                    }
                    for d in parse_era_dates(body)
                ],
                "routes": routes,
                "checks": [str(c) for c in fields.checks],
                "discovered_by": ref.discovered_by,
            },
        )

    def section_label(self, section: str, fields: ArticleFields, routes: dict[str, str]) -> str | None:
        """The section's label: the article's category link to its section page, else the
        home page's menu, else the page's metadata."""
        for link in fields.category_links:
            m = SECTION_PATH.match(urlsplit(link.url).path)
            if m and m["section"] == section and link.text:
                routes["section_label"] = "visible"
                return link.text
        if section in self.section_labels:
            routes["section_label"] = "menu"
            return self.section_labels[section]
        if fields.section:
            routes["section_label"] = "json-ld"
            return fields.section
        return None

    # -- helpers and the end of the run ------------------------------------------------------------
    def page(self, response: Response) -> HtmlPage | None:
        if not isinstance(response, TextResponse):
            self.error("not_html", response.url)
            return None
        return parse_page(response.text, response.url)

    def closed(self, reason: str) -> None:
        self.count_probe_gaps()
        if not self.ranking_stored and reason == "finished":
            self.degrade(self.ranking_problem or "no ranking block found on the home page or an article page")
        super().closed(reason)
