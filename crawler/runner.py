"""Run the spiders of some sources in this process and report how each run went.

Scrapy's reactor starts once per process, so one call per process: the daemon runs each
cycle in a child process for that reason (and to bound memory).
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from scrapy.crawler import CrawlerProcess
from scrapy.settings import BaseSettings, Settings, SettingsAttribute

from core.config import Config, SourceConfig
from core.model import RunResult
from crawler import settings as default_settings
from crawler.base import FAILED, DefwatchSpider
from crawler.batch import BatchSpider, SourceCrawler, batchable
from crawler.hostcache import HOSTS, cache_path
from crawler.worker import InlineWorker, PageWorker, SinkFactory, Worker, make_sink
from store import Store

log = logging.getLogger(__name__)


@contextmanager
def _cheap_caller_lookup() -> Iterator[None]:
    """``inspect.stack()`` and ``inspect.getmodule()`` of a frame, cheaply.

    Scrapy's shims for its deprecated TLS classes (imported with its HTTP download handler)
    call them only to name the module of their caller's frame; in full, they read the source
    file of every frame on the stack and the real path of every module loaded: 0.1 CPU-s of
    every crawl process for three calls. Here the frames come without source context and a
    frame's module is the one its globals name."""
    stack, getmodule = inspect.stack, inspect.getmodule

    def frames(context: int = 1) -> list[inspect.FrameInfo]:
        found, frame = [], sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            found.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
            frame = frame.f_back  # type: ignore[assignment]
        return found

    def module_of(obj: Any, _filename: str | None = None) -> Any:
        if inspect.isframe(obj):
            return sys.modules.get(obj.f_globals.get("__name__", ""))
        return getmodule(obj, _filename)

    inspect.stack, inspect.getmodule = frames, module_of  # type: ignore[assignment]
    try:
        yield
    finally:
        inspect.stack, inspect.getmodule = stack, getmodule


with _cheap_caller_lookup():  # every crawl loads it (crawler.settings.DOWNLOAD_HANDLERS_BASE)
    import scrapy.core.downloader.handlers.http11  # noqa: F401


class CrawlProgress(Protocol):
    """What follows a crawl while it runs (scheduler.progress, handed in by the caller)."""

    def watch(self, name: str, crawler: Any) -> None: ...


class CrawlSetupError(Exception):
    """The crawl cannot start (unknown source, spider missing); one line for the user."""


SPIDER_KINDS = ("feed", "jdefense", "mod", "page")  # crawler/spiders/<kind>.py


def spider_class(kind: str) -> type[DefwatchSpider]:
    """The spider of a source kind, importing its module only (the ``mod`` spider's pypdf
    is not loaded by a cycle of feeds)."""
    if kind not in DefwatchSpider.kinds and kind in SPIDER_KINDS:
        _import_spider(kind)
    if kind not in DefwatchSpider.kinds:
        raise CrawlSetupError(f"source kind {kind!r}: no spider for it")
    return DefwatchSpider.kinds[kind]


def _import_spider(kind: str) -> None:
    if kind == "feed":
        from crawler.spiders import feed  # noqa: F401
    elif kind == "jdefense":
        from crawler.spiders import jdefense  # noqa: F401
    elif kind == "mod":
        from crawler.spiders import mod  # noqa: F401
    elif kind == "page":
        from crawler.spiders import page  # noqa: F401


def select_sources(config: Config, names: list[str] | None) -> list[SourceConfig]:
    if not names:
        return [s for s in config.sources if s.enabled]
    known = {s.name: s for s in config.sources}
    for n in names:
        if n not in known:
            raise CrawlSetupError(f"unknown source {n!r} (configured: {', '.join(known) or 'none'})")
    return [known[n] for n in names]


_ATOMIC = (str, bytes, int, float, bool, type(None))


def _copy_settings(settings: BaseSettings) -> Any:
    """The deep copy Scrapy makes of the settings for every crawler, without ``copy.deepcopy``
    walking every string and number (10 ms a crawler: 2 s of a cycle of 200 feeds)."""
    new = settings.__class__.__new__(settings.__class__)
    new.__dict__.update(settings.__dict__)
    new.attributes = {}
    for name, attr in settings.attributes.items():
        value = attr.value
        if isinstance(value, BaseSettings):
            value = _copy_settings(value)
        elif not isinstance(value, _ATOMIC):
            value = copy.deepcopy(value)
        twin = SettingsAttribute.__new__(SettingsAttribute)
        twin.value, twin.priority = value, attr.priority
        new.attributes[name] = twin
    return new


class CrawlSettings(Settings):
    """Scrapy's settings, copied for each crawler of a cycle as Scrapy does, only faster."""

    def copy(self) -> CrawlSettings:
        copied: CrawlSettings = _copy_settings(self)
        return copied


def scrapy_settings(config: Config, log_level: str = "WARNING") -> Settings:
    s = CrawlSettings()
    s.setmodule(default_settings, priority="project")
    c = config.crawl
    s.setdict(
        {
            "USER_AGENT": c.user_agent,
            "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_domain,
            # Scrapy 2.19 on the asyncio reactor does not hold the per-domain limit (measured:
            # ~8 in flight with 2 allowed); the global limit does hold. A defwatch crawl is one
            # source, usually one domain, so the global limit is the politeness limit.
            "CONCURRENT_REQUESTS": c.concurrency_per_domain,
            "DOWNLOAD_TIMEOUT": c.timeout,
            "DOWNLOAD_MAXSIZE": c.max_response_size,
            "ROBOTSTXT_OBEY": c.obey_robots,
            "AUTOTHROTTLE_ENABLED": c.autothrottle,
            "DOWNLOAD_DELAY": c.download_delay,
            "CLOSESPIDER_TIMEOUT": config.scheduler.crawl_timeout,
            "LOG_LEVEL": log_level,
            "DEFWATCH_ALLOW_PRIVATE": list(c.allow_private)
            if isinstance(c.allow_private, tuple)
            else c.allow_private,
            # The runner hands Scrapy the spider classes it needs: the spider loader does not
            # import every spider (pypdf, PIL and all) to find them.
            "SPIDER_MODULES": [],
        },
        priority="cmdline",
    )
    return s


def crawl(
    config: Config,
    names: list[str] | None = None,
    store: Store | None = None,
    progress: CrawlProgress | None = None,
    ingest: SinkFactory | None = None,
    precheck: bool = False,
) -> list[RunResult]:
    """Crawl the named sources (all enabled ones by default) concurrently; block until done:
    how each source's run ended, in the order of ``names``.

    ``progress`` (scheduler.progress) follows each source's crawler while it runs.
    ``ingest`` makes, for a store, what every item goes to (``ingest.Ingest``: save, link
    copies, movements, alert outbox); without it items are only saved. With ``precheck``
    (the daemon's crawl processes), feeds are asked first (crawler.precheck): those that
    answer 304 are recorded without a crawler, and no Scrapy crawl runs when none is left.
    """
    sources = select_sources(config, names)
    classes = {s.name: spider_class(s.kind) for s in sources}
    own_store = store is None
    store = store or Store.open(config.store.url)
    if precheck and not _in_memory(store):
        from crawler.precheck import PREFETCHED_ENV, check, summary

        checked = check(config, store, sources)
        if checked.asked:
            log.info("%s", summary(checked, len(sources)))
        try:
            if checked.folder is not None:
                os.environ[PREFETCHED_ENV] = str(checked.folder)  # PrefetchedMiddleware's
            left = [s for s in sources if s.name not in checked.recorded]
            crawled = {
                r.source: r
                for r in (_crawl(config, left, classes, store, progress, ingest, own_store) if left else [])
            }
        finally:
            checked.clean()
        if own_store:
            store.close()
        return [checked.recorded.get(s.name) or crawled[s.name] for s in sources]
    results = _crawl(config, sources, classes, store, progress, ingest, own_store)
    if own_store:
        store.close()
    return results


def _crawl(
    config: Config,
    sources: list[SourceConfig],
    classes: dict[str, type[DefwatchSpider]],
    store: Store,
    progress: CrawlProgress | None,
    ingest: SinkFactory | None,
    own_store: bool,
) -> list[RunResult]:
    # Pages are read and stories stored in a worker process (crawler.worker), started before
    # the reactor. A store handed in is used here, in this process. The ingest step (link
    # detection: datasketch, numpy) is only loaded where stories are stored.
    worker: Worker
    if own_store and not _in_memory(store):
        worker = PageWorker(config, ingest)
    else:
        worker = InlineWorker(make_sink(store, config, ingest))
    # Each source's run is recorded before its spider is built, so a spider that cannot even
    # start (it raises while it is made) still ends its own run, and no other.
    run_ids = store.start_runs([src.name for src in sources])
    HOSTS.load(cache_path(config.store.url) if not _in_memory(store) else None)
    try:
        crawlers, startup_errors = _run_spiders(config, sources, classes, store, worker, progress, run_ids)
    finally:
        HOSTS.save()
        if isinstance(worker, PageWorker):
            worker.close()
    results = []
    for src in sources:
        spider = getattr(crawlers[src.name], "spider", None)
        if spider is not None and spider.result is not None:
            results.append(spider.result)
            continue
        reason = startup_errors.get(src.name, "the spider did not run")
        result = RunResult(src.name, FAILED, run_ids[src.name], reason=reason)
        store.finish_run(result)
        results.append(result)
    return results


def _run_spiders(
    config: Config,
    sources: list[SourceConfig],
    classes: dict[str, type[DefwatchSpider]],
    store: Store,
    worker: Worker,
    progress: CrawlProgress | None,
    run_ids: dict[str, int],
) -> tuple[dict[str, Any], dict[str, str]]:
    """One Scrapy process running a crawler per source until all are done: the crawlers,
    and the start-up error of each source that could not run."""
    root = logging.getLogger()
    root_level = root.level
    scrapy_level = logging.getLogger("scrapy").level
    level = logging.getLevelName(min(root.getEffectiveLevel(), logging.WARNING))
    logging.disable(logging.INFO)  # Scrapy's start-up banner, logged before we can set levels
    try:
        process = CrawlerProcess(scrapy_settings(config, level))
    finally:
        logging.disable(logging.NOTSET)
    root.setLevel(root_level)  # Scrapy resets the root logger to NOTSET
    logging.getLogger("scrapy").setLevel(scrapy_level)  # ... and its own to DEBUG
    crawlers: dict[str, Any] = {}
    startup_errors: dict[str, str] = {}
    shared = [src for src in sources if batchable(src)]
    if len(shared) > 1:
        # The feeds share one crawler (crawler.batch): a crawler each costs ~8 ms of CPU.
        crawler = process.create_crawler(BatchSpider)
        # Each source as many requests at a time as a crawler of its own allowed. Above
        # "cmdline" (40): process.crawl() merges the process's settings into a crawler
        # handed to it, overwriting values of equal priority.
        crawler.settings.set(
            "CONCURRENT_REQUESTS", len(shared) * config.crawl.concurrency_per_domain, priority=50
        )
        members = [(src, SourceCrawler(crawler, src.name)) for src in shared]
        for src, sub in members:
            crawlers[src.name] = sub
            if progress is not None:
                progress.watch(src.name, sub)
        d = process.crawl(
            crawler,
            sources=members,
            store=store,
            config=config,
            worker=worker,
            run_ids=run_ids,
            startup_errors=startup_errors,
            classes=classes,
        )

        names = [s.name for s in shared]

        def on_batch_error(failure: Any) -> None:
            reason = _first_line(failure)
            for name in names:
                startup_errors.setdefault(name, reason)
            log.error("sources %s could not run: %s", ", ".join(names), reason)

        d.addErrback(on_batch_error)
    else:
        shared = []
    in_batch = {src.name for src in shared}  # by name: comparing configurations is slow
    for src in sources:
        if src.name in in_batch:
            continue
        crawler = process.create_crawler(classes[src.name])
        crawlers[src.name] = crawler
        if progress is not None:
            progress.watch(src.name, crawler)
        d = process.crawl(
            crawler, source=src, store=store, config=config, worker=worker, run_id=run_ids[src.name]
        )

        def on_error(failure: Any, name: str = src.name) -> None:
            startup_errors[name] = _first_line(failure)
            log.error("source %s could not run: %s", name, startup_errors[name])

        d.addErrback(on_error)
    process.start()
    return crawlers, startup_errors


def _first_line(failure: Any) -> str:
    """Why a crawler could not start, in one line."""
    message = failure.getErrorMessage()
    return message.splitlines()[0] if message else repr(failure)


def _in_memory(store: Store) -> bool:
    url = store.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
