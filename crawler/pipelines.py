"""The one pipeline: what a spider yields goes into the store (through the spider's
worker, crawler.worker), and is counted."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from core.text import summarize
from crawler.base import DefwatchSpider
from crawler.items import RankingItem, StoryItem
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
        assert isinstance(spider, DefwatchSpider)
        try:
            await self._store(spider, item)
        except WorkerDied as exc:
            spider.worker_died(exc)
            raise DropItem(f"not stored: {exc}") from None
        return item

    async def _store(self, spider: DefwatchSpider, item: Any) -> None:
        stats = self.crawler.stats
        assert stats is not None
        if isinstance(item, StoryItem):
            a = ItemAdapter(item)
            summary = a["summary"] or summarize(a["body"])
            result = await spider.worker.save_story(
                StoryIn(
                    url=a["url"],
                    source=spider.source.name,
                    title=a["title"],
                    published=a["published"],
                    body=a["body"],
                    summary=summary,
                    kind=a["kind"],
                    section=a["section"],
                    complete=a["complete"],
                    extra=a["extra"],
                    keep_params=spider.source.keep_params,
                    link=a["link"],
                    fragment_key=a["fragment_key"],
                )
            )
            stats.inc_value(f"defwatch/stories_{result.status}")
        elif isinstance(item, RankingItem):
            await spider.worker.save_ranking_snapshot(
                spider.source.name,
                item.window,
                item.entries,
                valid=item.valid,
                reason=item.reason,
                run_id=spider.run_id,
            )
            stats.inc_value("defwatch/ranking_snapshots")
