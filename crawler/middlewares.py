"""Conditional requests: send back the ETag / Last-Modified a URL answered with last time.

A request opts in with ``meta["defwatch_conditional"] = True``; its callback then sees a
304 (the meta also lets 304 through) and calls ``spider.remember_validators(response)``
once it has processed a 200, so validators are only kept for content that was stored.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("defwatch_conditional"):
            return None
        store = getattr(self.crawler.spider, "store", None)
        if store is None:
            return None
        etag, last_modified = store.http_state(request.url)
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified
        statuses: set[Any] = set(request.meta.get("handle_httpstatus_list", ())) | {304}
        request.meta["handle_httpstatus_list"] = sorted(statuses)
        return None


class CrawlDeadlineMiddleware:
    """Every request of a crawl ends by the crawl's own deadline (``CLOSESPIDER_TIMEOUT``
    after the spider opened, plus a moment): its download timeout is cut to what is left.

    Scrapy closes a spider at ``CLOSESPIDER_TIMEOUT`` but waits for the requests in flight,
    each up to ``DOWNLOAD_TIMEOUT``; a site that accepts and never answers kept a crawl going
    that long past its limit. With many sources in one process each spider must end on time
    by itself (recorded ``timeout``), without the process being killed for it.
    """

    GRACE = 0.25  # after CLOSESPIDER_TIMEOUT, so the close says why (closespider_timeout)
    FLOOR = 0.5  # the shortest timeout a request gets (a retry after the deadline fails fast)

    def __init__(self, crawler: Crawler) -> None:
        self.limit = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        self.deadline: float | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDeadlineMiddleware:
        return cls(crawler)

    def spider_opened(self) -> None:
        if self.limit > 0:
            self.deadline = time.monotonic() + self.limit + self.GRACE

    def process_request(self, request: Request) -> None:
        if self.deadline is None:
            return None
        left = max(self.FLOOR, self.deadline - time.monotonic())
        current = request.meta.get("download_timeout")
        if current is None or float(current) > left:
            request.meta["download_timeout"] = left
        return None
