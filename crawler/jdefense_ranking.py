"""The ranking steps of the ``jdefense`` spider: read the block (home page first, else an
article page, else one known article page when the crawl would end without a snapshot),
check each window, store the ones that pass and refuse the others loudly."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from crawler.base import DefwatchSpider
from crawler.extract_article import HtmlPage, RankingBlock
from crawler.items import RankingItem
from crawler.jdefense_read import WINDOWS, ArticleRef, ArticleUrls, ranking_block, title_check
from crawler.saved_pages import save_page

__all__ = ["RankingSteps"]


class RankingSteps(DefwatchSpider):
    """Mixed into the spider, which sets these in its ``__init__``."""

    is_article_url: ArticleUrls
    selectors: dict[str, str] | None
    pages_folder: Path
    articles: dict[str, ArticleRef]
    listings_pending: int
    ranking_stored: bool
    ranking_fallback_tried: bool
    ranking_problem: str | None
    article_pages_read: int

    def see(self, url: str, route: str) -> ArticleRef | None:
        raise NotImplementedError

    def request_new(self, refs: Iterable[ArticleRef]) -> Iterator[scrapy.Request]:
        raise NotImplementedError

    def page(self, response: Response) -> HtmlPage | None:
        raise NotImplementedError

    # -- rankings ------------------------------------------------------------------------------------
    def ranking_block(self, page: HtmlPage) -> RankingBlock:
        return ranking_block(page, self.is_article_url, self.selectors)

    def refuse(self, response: Response, reason: str, message: str) -> None:
        """A page a reader could not read whole: the run is degraded with the exact reason,
        and the page is kept (a few per reason) for the user to look at or send in."""
        saved = save_page(self.pages_folder, self.source.name, reason, response.url, response.body)
        where = f"; page kept as {saved}" if saved else ""
        self.degrade(f"{message} ({response.url}{where})")

    def take_ranking(self, block: RankingBlock, where: str, response: Response) -> Iterator[Any]:
        """One snapshot per window that passes its checks, and requests for the ranked
        articles not stored yet. A window that fails is not stored: the run says why."""
        url = response.url
        if block.problem is not None:
            self.ranking_problem = (
                f"the ranking block on the {where} page cannot be read: {block.problem} ({url})"
            )
            if where == "home":
                # Article pages carry the block too (a home widget may be drawn by script):
                # the run is degraded only if none gives a snapshot (see closed()).
                saved = save_page(
                    self.pages_folder, self.source.name, "ranking_unreadable", url, response.body
                )
                if saved is not None:
                    self.ranking_problem = self.ranking_problem[:-1] + f"; page kept as {saved})"
                self.count("home_ranking_unreadable")
                self.logger.warning("%s", self.ranking_problem)
            return
        for window, ranked in block.windows.items():
            shown = []
            for rank, link in enumerate(ranked, start=1):
                stored = self.store.get_story(link.url) if self.is_article_url(link.url) else None
                shown.append((rank, link.text, stored["title"] if stored else None))
            block.checks.setdefault(window, []).append(title_check(shown))
        failed = {w: block.failed(w) for w in block.windows if block.failed(w)}
        for window, checks in failed.items():
            detail = "; ".join(f"{c.name}: {c.detail}" for c in checks)
            self.count(f"ranking_check_failed_{window}")
            self.refuse(
                response,
                f"ranking_{window}",
                f"the {window} ranking on the {where} page failed its checks ({detail})",
            )
        longest = max((len(v) for v in block.windows.values()), default=0)
        for window in WINDOWS:
            if window in failed:
                continue
            entries = block.windows.get(window)
            if entries is None:
                self.degrade(f"the ranking block on the {where} page has no {window} tab ({url})")
                continue
            refs = [self.see(link.url, "ranking") for link in entries]
            rows = [
                {"rank": rank, "url": ref.url, "title": link.text}
                for rank, (ref, link) in enumerate(zip(refs, entries, strict=True), start=1)
                if ref is not None
            ]
            if not rows:
                self.degrade(f"the {window} ranking list is empty on the {where} page ({url})")
            elif len(rows) * 2 < longest:
                # Stored as read: whether the snapshot is valid is for the ranking history to
                # judge; the run says what it saw.
                self.count(f"ranking_short_{window}")
                self.logger.warning(
                    "the %s ranking lists %d entries where another window lists %d (%s)",
                    window,
                    len(rows),
                    longest,
                    url,
                )
            yield RankingItem(window=window, entries=rows)
        self.ranking_stored = True
        self.count(f"ranking_from_{where}")
        if self.listings_pending == 0 or where == "article":
            yield from self.request_new(a for a in self.articles.values() if "ranking" in a.routes)

    def _on_idle(self, spider: scrapy.Spider) -> None:
        """With nothing left to do and no snapshot yet (no ranking on the home page and no
        new article page read), read one known article page for its ranking block."""
        if (
            spider is not self
            or self.ranking_stored
            or self.ranking_fallback_tried
            or self.listings_pending
            or self.article_pages_read
        ):
            return
        self.ranking_fallback_tried = True
        candidates = sorted(self.articles.values(), key=lambda r: (r.routes != {"probe"}, r.id), reverse=True)
        candidates = [r for r in candidates if r.routes - {"probe"}] or candidates
        if not candidates:
            return
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(
            scrapy.Request(
                candidates[0].url,
                callback=self.parse_ranking_page,
                errback=self.on_request_error,
                dont_filter=True,
                meta={"dont_redirect": True, **self.size_meta()},
            )
        )
        raise DontCloseSpider

    def parse_ranking_page(self, response: Response) -> Iterator[Any]:
        self.count("ranking_fallback_page")
        page = self.page(response)
        if page is None:
            return
        block = self.ranking_block(page)
        if block.found:
            yield from self.take_ranking(block, "article", response)
