"""The feed sources of one cycle crawled by one Scrapy crawler (issue 17).

Every Scrapy crawler costs its settings, downloader, scraper, ~15 components and their
signals: 7 to 10 ms of CPU a source, most of an unchanged cycle of many feeds. Here the feed
sources of a crawl share one crawler, and each keeps what it had with a crawler of its own:

- its spider (``FeedSpider``, unchanged), built and failing on its own;
- its counters: the spider sees a :class:`SourceCrawler` whose stats are its own (requests
  and HTTP statuses counted per source by :class:`SourceStatsMiddleware`), and whose signals
  carry its own start, activity and end (``scheduler.progress`` follows it as before);
- its run, recorded when its own work is done (its requests answered or failed, the stories
  they gave stored), not when the last source of the crawl ends;
- its time limit and outcome: the crawl's deadline is common (``crawl_timeout`` counts from
  the start of the crawl for every source); a source whose work was still open at the
  deadline ends ``timeout``, one that had finished keeps its outcome; a stop by a signal
  interrupts only the sources still open;
- its politeness: its requests go through a download slot of its own, as they did through a
  downloader of its own, so one source that hangs holds no other source's requests.

A request belongs to the source whose spider made it: its callback and errback are wrapped
(:class:`_Tracked`), which also tells when its answer has been read. Only sources whose
work is one listing request go here (``feed`` without ``fetch_articles``); others keep a
crawler each (``crawler.runner``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextvars import ContextVar
from typing import Any, cast
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from core.config import Config, SourceConfig
from crawler import settings as default_settings
from crawler.base import DefwatchSpider
from crawler.precheck import one_request
from crawler.worker import Worker
from store import Store

log = logging.getLogger(__name__)


def batchable(source: SourceConfig) -> bool:
    """Whether a source's crawl can share the cycle's crawler: one listing request, read at
    once (a ``feed`` that does not fetch its articles' pages)."""
    return one_request(source)


class SourceCrawler:
    """What one source's spider sees as its crawler inside the shared one: the shared
    settings and engine, its own stats and signals."""

    def __init__(self, shared: Crawler, name: str) -> None:
        self.shared = shared
        self.name = name
        self.settings = shared.settings
        self.signals = SignalManager(self)
        self.stats = StatsCollector(self)  # type: ignore[arg-type]
        self.spider: DefwatchSpider | None = None
        self.closed = False
        self.open_requests = 0  # requests made and not yet answered and read
        self.open_items = 0  # stories yielded and not yet through the store pipeline
        self.started = False  # its start requests are all made

    @property
    def engine(self) -> Any:
        return self.shared.engine

    def send(self, signal: object, **kwargs: Any) -> None:
        self.signals.send_catch_log(signal=signal, **kwargs)


class _Tracked:
    """A request's callback or errback, marking its source's work open until the output of
    the call has been read (then the source may be done)."""

    def __init__(self, batch: BatchSpider, source: SourceCrawler, fn: Callable[..., Any]) -> None:
        self.batch = batch
        self.source = source
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "callback")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            out = self.fn(*args, **kwargs)
        except BaseException:
            self.batch.request_done(self.source)
            raise
        if hasattr(out, "__aiter__"):
            return self.batch.follow_async(self.source, out)
        if inspect.iscoroutine(out):
            return self.batch.follow_coroutine(self.source, out)
        if isinstance(out, Failure) or _single(out):
            # one result (or none, or a failure to raise), not a series
            if out is not None and not isinstance(out, Failure):
                out = self.batch.adopt(self.source, out)
            self.batch.request_done(self.source)
            return out
        return self.batch.follow(self.source, out)


def _single(out: Any) -> bool:
    """A callback's result that is one output, not a series of them."""
    return isinstance(out, (scrapy.Request, scrapy.Item, dict, str, bytes)) or not hasattr(out, "__iter__")


# The source whose request made the robots.txt request being sent (set by
# crawler.middlewares.CachedRobotsTxtMiddleware around Scrapy's own download of it).
ASKER: ContextVar[SourceCrawler | None] = ContextVar("defwatch_robots_asker", default=None)


def own_slot(sub: SourceCrawler, url: str) -> str:
    """The download slot of a source's requests to a host: its own, as it had with a
    downloader of its own (one source that hangs holds no other's requests)."""
    return f"{urlsplit(url).netloc}#{sub.name}"


def owner(request: scrapy.Request | None) -> SourceCrawler | None:
    """The source a request of a shared crawl belongs to (None: not a shared crawl's)."""
    callback = getattr(request, "callback", None) if request is not None else None
    if isinstance(callback, _Tracked):
        return callback.source
    if request is not None and request.meta.get("defwatch_for") is not None:
        found: SourceCrawler = request.meta["defwatch_for"]
        return found
    return None


class BatchSpider(scrapy.Spider):
    """The one spider of a shared crawl: it runs the sources' spiders, not a source itself."""

    name = "feeds"
    base_url = ""  # KnownLatencyAutoThrottle: each source's slot learns its own latency
    custom_settings = {
        "DOWNLOADER_MIDDLEWARES": {
            **default_settings.DOWNLOADER_MIDDLEWARES,
            "crawler.batch.SourceStatsMiddleware": 851,  # next to Scrapy's DownloaderStats
        }
    }

    def __init__(
        self,
        sources: list[tuple[SourceConfig, SourceCrawler]],
        store: Store,
        config: Config,
        worker: Worker,
        run_ids: dict[str, int],
        startup_errors: dict[str, str],
        classes: dict[str, type[DefwatchSpider]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.config = config
        self.sources: list[SourceCrawler] = []
        self.items: dict[int, tuple[Any, SourceCrawler]] = {}
        self.deadline_passed = False
        self._deadline_call: Any = None
        for src, sub in sources:
            try:
                sub.spider = classes[src.name].from_crawler(
                    cast(Crawler, sub),
                    source=src,
                    store=store,
                    config=config,
                    worker=worker,
                    run_id=run_ids[src.name],
                )
            except Exception as exc:  # this source cannot run; the others do
                text = str(exc)
                startup_errors[src.name] = text.splitlines()[0] if text else repr(exc)
                log.error("source %s could not run: %s", src.name, startup_errors[src.name])
                continue
            self.sources.append(sub)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BatchSpider:
        spider: BatchSpider = super().from_crawler(crawler, *args, **kwargs)
        connect = crawler.signals.connect
        connect(spider._opened, signal=signals.spider_opened)
        connect(spider._forward_request, signal=signals.request_reached_downloader)
        connect(spider._forward_response, signal=signals.response_received)
        connect(spider._item_through, signal=signals.item_scraped)
        connect(spider._item_through, signal=signals.item_dropped)
        connect(spider._item_through, signal=signals.item_error)
        connect(spider._forward_error, signal=signals.spider_error)
        connect(spider._request_dropped, signal=signals.request_dropped)
        return spider

    # -- the sources' requests -------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        for sub in self.sources:
            spider = sub.spider
            assert spider is not None
            try:
                async for output in spider.start():
                    yield self.adopt(sub, output)
            except Exception as exc:
                spider.read_failed(spider.base_url, exc)
                spider.fail(f"the crawl could not start: {exc}")
            sub.started = True
            self._maybe_done(sub)

    def adopt(self, sub: SourceCrawler, output: Any) -> Any:
        """A request or story one source's spider gave, marked as that source's."""
        if isinstance(output, scrapy.Request):
            callback = output.callback or getattr(sub.spider, "parse", None)
            assert callback is not None
            sub.open_requests += 1
            return output.replace(
                callback=_Tracked(self, sub, callback),
                errback=_Tracked(self, sub, output.errback) if output.errback else None,
                meta={**output.meta, "download_slot": own_slot(sub, output.url)},
            )
        sub.open_items += 1
        self.items[id(output)] = (output, sub)
        return output

    def follow(self, sub: SourceCrawler, out: Iterable[Any]) -> Iterable[Any]:
        try:
            for output in out:
                yield self.adopt(sub, output)
        finally:
            self.request_done(sub)

    async def follow_async(self, sub: SourceCrawler, out: Any) -> AsyncIterator[Any]:
        try:
            async for output in out:
                yield self.adopt(sub, output)
        finally:
            self.request_done(sub)

    async def follow_coroutine(self, sub: SourceCrawler, out: Any) -> Any:
        try:
            result = await out
            if result is None or isinstance(result, Failure):
                return result
            if _single(result):
                return self.adopt(sub, result)
            return [self.adopt(sub, output) for output in result]
        finally:
            self.request_done(sub)

    def spider_for(self, item: Any) -> DefwatchSpider:
        """The spider of the source a story came from (crawler.pipelines)."""
        spider = self.items[id(item)][1].spider
        assert spider is not None
        return spider

    # -- when a source is done -------------------------------------------------------------
    def request_done(self, sub: SourceCrawler) -> None:
        sub.open_requests -= 1
        self._maybe_done(sub)

    def _request_dropped(self, request: scrapy.Request, **_: Any) -> None:
        sub = owner(request)
        if sub is not None:
            self.request_done(sub)

    def _item_through(self, item: Any, **_: Any) -> None:
        found = self.items.pop(id(item), None)
        if found is None:
            return
        _, sub = found
        sub.open_items -= 1
        sub.send(signals.item_scraped, item=item, spider=sub.spider)
        self._maybe_done(sub)

    def _maybe_done(self, sub: SourceCrawler) -> None:
        """A source whose requests are all answered and read, and whose stories are stored,
        ends its run now, unless the crawl is being stopped (then the stop decides)."""
        if sub.closed or not sub.started or sub.open_requests > 0 or sub.open_items > 0:
            return
        engine = self.crawler.engine
        if self.deadline_passed or engine is None or not engine.running:
            return
        self._close(sub, "finished")

    def _close(self, sub: SourceCrawler, reason: str) -> None:
        sub.closed = True
        sub.send(signals.spider_closed, spider=sub.spider, reason=reason)

    def closed(self, reason: str) -> None:
        if self._deadline_call is not None and self._deadline_call.active():
            self._deadline_call.cancel()
        for sub in self.sources:
            if not sub.closed:
                # still open when the crawl stopped: the crawl's reason is this source's
                self._close(sub, reason)

    # -- signals of the shared crawler, handed to the source they concern ------------------
    def _opened(self, spider: scrapy.Spider) -> None:
        limit = self.crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        if limit > 0:
            from twisted.internet import reactor

            # Before Scrapy's own close at the same limit and before CrawlDeadlineMiddleware
            # cuts the requests in flight (a moment later): what is still open now timed out.
            self._deadline_call = cast(Any, reactor).callLater(limit, self._deadline)
        for sub in self.sources:
            sub.send(signals.spider_opened, spider=sub.spider)

    def _deadline(self) -> None:
        self.deadline_passed = True

    def _forward_request(self, request: scrapy.Request, **_: Any) -> None:
        sub = owner(request)
        if sub is not None:
            sub.send(signals.request_reached_downloader, request=request, spider=sub.spider)

    def _forward_response(self, response: Response, request: scrapy.Request, **_: Any) -> None:
        sub = owner(request)
        if sub is not None:
            sub.send(signals.response_received, response=response, request=request, spider=sub.spider)

    def _forward_error(self, failure: Any, response: Response, **_: Any) -> None:
        sub = owner(response.request)
        if sub is not None:
            sub.send(signals.spider_error, failure=failure, response=response, spider=sub.spider)


class SourceStatsMiddleware:
    """Scrapy's downloader counts, per source of a shared crawl (what ``DownloaderStats``
    counts for a crawler of its own: requests, and responses by status)."""

    def process_request(self, request: scrapy.Request) -> None:
        sub = owner(request)
        if sub is None and request.meta.get("dont_obey_robotstxt"):
            sub = ASKER.get()
            if sub is not None:
                # robots.txt for a source: counted as its request, in its own slot, as it was
                # with a crawler of its own (a host that never answers holds that source only)
                request.meta["defwatch_for"] = sub
                request.meta["download_slot"] = own_slot(sub, request.url)
        if sub is not None:
            sub.stats.inc_value("downloader/request_count")
        return None

    def process_response(self, request: scrapy.Request, response: Response) -> Response:
        sub = owner(request)
        if sub is not None:
            sub.stats.inc_value("downloader/response_count")
            sub.stats.inc_value(f"downloader/response_status_count/{response.status}")
        return response
