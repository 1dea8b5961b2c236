"""Downloader middlewares and the throttle of defwatch's crawls.

Conditional requests: send back the ETag / Last-Modified a URL answered with last time.

A request opts in with ``meta["defwatch_conditional"] = True``; its callback then sees a
304 (the meta also lets 304 through) and calls ``spider.remember_validators(response)``
once it has processed a 200, so validators are only kept for content that was stored.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from crawler.batch import ASKER, owner
from crawler.hostcache import HOSTS
from crawler.precheck import PREFETCHED_ENV, take


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


class PrefetchedMiddleware:
    """A feed's answer already fetched by the check before the crawl (crawler.precheck),
    given to Scrapy in place of downloading it again: last of the middlewares' requests
    (robots.txt, the address check and the counts have seen the request), so every
    middleware's ``process_response`` (redirects, retries, decompression, counts) sees the
    answer as any other. Taken once: a retry or a redirect goes to the site."""

    def __init__(self) -> None:
        self.folder = os.environ.get(PREFETCHED_ENV)

    def process_request(self, request: Request) -> Response | None:
        if not self.folder or not request.meta.get("defwatch_conditional"):
            return None
        found = take(self.folder, request.url)
        if found is None:
            return None
        status, pairs, body, latency = found
        headers = Headers()
        for key, value in pairs:
            headers.appendlist(key, value)
        request.meta["download_latency"] = latency  # AutoThrottle learns from it as from a download
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(
            url=request.url, status=status, headers=headers, body=body, request=request, flags=["prefetched"]
        )


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


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt handling, asking each host once per cycle and not again while
    the answer is fresh (crawler.hostcache: its HTTP caching, at most 24 hours). The sources
    of one host in one crawl process wait for the first one's answer."""

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            body = HOSTS.robots(netloc)
            if body is None and netloc in HOSTS.pending:  # another spider is asking
                await asyncio.shield(HOSTS.pending[netloc])
                body = HOSTS.robots(netloc)
            if body is not None:
                self._stats.inc_value("robotstxt/cached")
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
                return self._parsers[netloc]
            first = netloc not in HOSTS.pending
            if first:
                HOSTS.pending[netloc] = asyncio.get_running_loop().create_future()
            token = ASKER.set(owner(request))  # a crawl of many sources: robots.txt is the asker's
            try:
                return await super().robot_parser(request)
            finally:
                ASKER.reset(token)
                if first:
                    done = HOSTS.pending.pop(netloc)
                    if not done.done():
                        done.set_result(None)
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in ((k, response.headers.get(k)) for k in response.headers)
            if v is not None
        }
        HOSTS.remember_robots(netloc, response.status, response.body, headers)
        await super()._parse_robots(response, netloc, request)


class KnownLatencyAutoThrottle(AutoThrottle):
    """AutoThrottle starting from the delay the host's last answer called for (its latency,
    remembered by crawler.hostcache) instead of AUTOTHROTTLE_START_DELAY: a host answering in
    50 ms is not made to wait a second between the first requests of every cycle."""

    def _start_delay(self) -> float:
        spider = self.crawler.spider
        url = getattr(spider, "base_url", None) or ""
        latency = HOSTS.latency(urlsplit(url).netloc) if url else None
        start = super()._start_delay()
        if latency is None:
            return start
        # never longer than without it: AutoThrottle takes it up from there if need be
        return max(self.mindelay, min(start, latency / self.target_concurrency))

    def _response_downloaded(self, response: Response, request: Request, spider: Any) -> None:
        super()._response_downloaded(response, request, spider)
        latency = request.meta.get("download_latency")
        if latency is not None:
            HOSTS.remember_latency(urlparse_cached(request).netloc, float(latency))
