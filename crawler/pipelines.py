"""The one pipeline: what a spider yields goes into the store (through the spider's
worker, crawler.worker), and is counted."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from core.model import RankingSnapshot
from core.text import summarize
from crawler.base import DefwatchSpider
from crawler.items import RankingItem, StoryItem
from crawler.limits import clean_body, clean_summary, clean_title, is_http_url
from crawler.worker import WorkerDied
from store import StoryIn


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if not isinstance(spider, DefwatchSpider):  # a crawl of many sources (crawler.batch)
            spider = spider.spider_for(item)  # type: ignore[union-attr]
        try:
            await self._store(spider, item)
        except WorkerDied as exc:
            spider.worker_died(exc)
            raise DropItem(f"not stored: {exc}") from None
        except Exception as exc:  # a full disk, a locked or broken store, a value it refuses
            spider.store_failed(getattr(item, "url", None), exc)
        return item

    async def _store(self, spider: DefwatchSpider, item: Any) -> None:
        if isinstance(item, StoryItem):
            a = ItemAdapter(item)
            if not is_http_url(a["url"]):
                # javascript:, data:, mailto: ... never reach a feed or an alert (crawler.limits)
                spider.count("not_http_link")
                return
            body = clean_body(a["body"])
            summary = clean_summary(a["summary"] or summarize(body))
            result = await spider.worker.save_story(
                StoryIn(
                    url=a["url"].strip(),
                    source=spider.source.name,
                    title=clean_title(a["title"]),
                    published=a["published"],
                    body=body,
                    summary=summary,
                    kind=a["kind"],
                    section=a["section"],
                    complete=a["complete"],
                    extra=a["extra"],
                    keep_params=spider.source.keep_params,
                    link=a["link"],
                    fragment_key=a["fragment_key"],
                    earlier=tuple(
                        (clean_title(title), clean_summary(summary), listed)
                        for title, summary, listed in a["earlier"]
                    ),
                )
            )
            spider.stat(f"stories_{result.status}")
        elif isinstance(item, RankingItem):
            entries = [
                {**e, "title": clean_title(e.get("title") or "")}
                for e in item.entries
                if is_http_url(e["url"])
            ]
            if len(entries) < len(item.entries):
                spider.count("not_http_link", len(item.entries) - len(entries))
            snapshot = RankingSnapshot.of(
                spider.source.name,
                item.window,
                entries,
                valid=item.valid,
                reason=item.reason,
                run_id=spider.run_id,
            )
            await spider.worker.save_ranking_snapshot(snapshot)
            spider.stat("ranking_snapshots")
