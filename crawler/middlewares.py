"""Conditional requests: send back the ETag / Last-Modified a URL answered with last time.

A request opts in with ``meta["defwatch_conditional"] = True``; its callback then sees a
304 (the meta also lets 304 through) and calls ``spider.remember_validators(response)``
once it has processed a 200, so validators are only kept for content that was stored.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
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
