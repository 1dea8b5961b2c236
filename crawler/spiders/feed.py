"""Kind ``feed``: any RSS 0.9x/1.0/2.0 or Atom 1.0 feed, by configuration alone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy.http import Response

from crawler.base import DefwatchSpider
from crawler.items import StoryItem
from crawler.text import fold_whitespace


class FeedSpider(DefwatchSpider, kind="feed"):
    async def start(self) -> AsyncIterator[Any]:
        yield self.request(
            self.source.url, self.parse_feed, conditional=True, meta={"defwatch_essential": True}
        )

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            self.count("not_modified")
            return
        parsed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        entries = parsed.entries
        links = [e.get("link") for e in entries if e.get("link")]
        known = self.known(links)
        for entry in entries:
            link = entry.get("link")
            if not link:
                self.count("item_without_link")
                continue
            if link in known:
                self.skip_known()
                continue
            published = None
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            if stamp:
                published = datetime(*stamp[:6], tzinfo=UTC)
            yield StoryItem(
                url=self.absolute(link),
                title=fold_whitespace(entry.get("title", "")),
                published=published,
                summary=fold_whitespace(entry.get("summary", "")),
                kind="item",
            )
        self.remember_validators(response)
