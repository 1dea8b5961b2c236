"""The base every defwatch spider builds on: its source's configuration, the store, the
crawl run it records, and the counters and health signals that end up in that run.

A spider class registers its source kind by subclassing with ``kind=``::

    class FeedSpider(DefwatchSpider, kind="feed"): ...
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any, ClassVar, ParamSpec, TypeVar
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from core.config import Config, SourceConfig
from core.model import Outcome, RunResult
from core.sources import SourceOptions
from crawler.addresses import PrivateAddressRefused, refused_at_connect
from crawler.worker import InlineWorker, SinkFactory, Worker, WorkerDied, make_sink
from store import Store

log = logging.getLogger(__name__)

# Outcomes a run ends with (crawl_runs.outcome).
OK, DEGRADED, FAILED, TIMEOUT, INTERRUPTED = (
    Outcome.OK,
    Outcome.DEGRADED,
    Outcome.FAILED,
    Outcome.TIMEOUT,
    Outcome.INTERRUPTED,
)
WORKER_DIED = "worker_died"  # the reason Scrapy closes a spider whose page worker died

P = ParamSpec("P")
T = TypeVar("T")


class DefwatchSpider(scrapy.Spider):
    kinds: ClassVar[dict[str, type[DefwatchSpider]]] = {}
    kind: ClassVar[str] = ""
    options: SourceOptions

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            cls.kind = kind
            cls.name = kind  # so `scrapy crawl <kind>` finds it
            DefwatchSpider.kinds[kind] = cls

    def __init__(
        self,
        source: SourceConfig | str | None = None,
        store: Store | None = None,
        config: Config | str | None = None,
        run_id: int | None = None,
        worker: Worker | None = None,
        ingest: SinkFactory | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(source, SourceConfig):
            # Started by `scrapy crawl KIND [-a source=NAME] [-a config=PATH]`: read the
            # configuration ourselves (found as `defwatch` finds it when no path is given).
            from core.config import load

            if not isinstance(config, Config):
                config = load(config)
            source = _pick_source(config, self.kind, source)
        assert not isinstance(config, str)
        if store is None:  # a store handed in (tests, tools) may come without a configuration
            assert config is not None
            store = Store.open(config.store.url)
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.config = config
        self.store = store
        # Where pages are read and stories stored: a process of its own when the crawl was
        # started by crawler.runner (crawler.worker), else here, into the ingest step
        # named by the DEFWATCH_INGEST setting (``scrapy crawl``).
        self.worker: Worker = worker or InlineWorker(make_sink(store, config, ingest))
        self.worker_gone = False
        # The keys of the source's kind (core/sources/), read as attributes.
        if self.kind and source.options.kind != self.kind:
            raise ValueError(
                f"source {source.name}: the {self.kind} spider was handed the options of kind "
                f"{source.options.kind or '(none)'} (SourceConfig.options)"
            )
        self.options = source.options
        self.base_url = source.url
        host = urlsplit(source.url).hostname
        self.allowed_domains = [host] if host else []
        self.degraded_reasons: list[str] = []
        self.failed_reason: str | None = None
        # Exceptions while reading pages and storing stories: each counts as an error, and
        # the first of each kind is named in the run's reason (crawler.base.closed).
        self.read_exceptions: list[str] = []
        self.store_exceptions: list[str] = []
        self.validated: list[str] = []  # URLs whose validators this run remembered
        # A Scrapyd job is handed its run (opened by the `defwatch crawl` that scheduled it) as
        # the spider argument run_id, a string.
        self.run_id = int(run_id) if run_id is not None else store.start_run(source.name)
        self.result: RunResult | None = None  # how the run ended, once closed
        # The source's own size limit goes on each request (meta ``download_maxsize``):
        # Scrapy 2.19 deprecates the spider attribute of that name.
        self.max_response_size: int | None = source.options.max_response_size or None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DefwatchSpider:
        if kwargs.get("worker") is None and crawler.settings.get("DEFWATCH_INGEST"):
            kwargs["ingest"] = load_object(crawler.settings["DEFWATCH_INGEST"])
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_spider_error, signal=signals.spider_error)
        return spider

    # -- requests ------------------------------------------------------------------------
    def absolute(self, url: str) -> str:
        return urljoin(self.base_url, url)

    def request(
        self,
        url: str,
        callback: Callable[..., Any],
        *,
        conditional: bool = False,
        meta: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> scrapy.Request:
        """A request whose failures are counted in the run instead of vanishing."""
        meta = {**self.size_meta(), **(meta or {})}
        if conditional:
            meta["defwatch_conditional"] = True
        return scrapy.Request(
            self.absolute(url), callback=callback, errback=self.on_request_error, meta=meta, **kwargs
        )

    def size_meta(self) -> dict[str, Any]:
        """The request meta that holds a response to the source's ``max_response_size``."""
        return {"download_maxsize": self.max_response_size} if self.max_response_size else {}

    def remember_validators(self, response: Response) -> None:
        """Keep a 200's ETag / Last-Modified for the next conditional request."""
        etag = response.headers.get(b"ETag")
        last_modified = response.headers.get(b"Last-Modified")
        if etag or last_modified:
            url = response.request.url if response.request else response.url
            self.validated.append(url)
            self.store.set_http_state(
                url,
                etag.decode("latin-1") if etag else None,
                last_modified.decode("latin-1") if last_modified else None,
            )

    def is_known(self, url: str) -> bool:
        return self.store.is_known(self.absolute(url), self.source.keep_params)

    def known(self, urls: list[str], fragment: bool = False) -> set[str]:
        """The subset of ``urls`` already stored (compared by story identity; with
        ``fragment``, the fragment is part of it)."""
        from store import url_key

        keep = self.source.keep_params
        keys = self.store.known_keys([self.absolute(u) for u in urls], keep, fragment)
        if keys:
            # A story stored with text damaged by bad bytes (as versions before 2026-12 did;
            # now such an item is not stored at all) is read again, to be repaired.
            keys -= self.store.damaged_keys(keys)
        return {u for u in urls if url_key(self.absolute(u), keep, fragment) in keys}

    # -- counting and health -------------------------------------------------------------
    def stat(self, name: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"defwatch/{name}", n)

    def count(self, reason: str, n: int = 1) -> None:
        """Count something notable in this run (e.g. ``challenged``, ``pdf_unreadable``)."""
        self.stat(f"reason/{reason}", n)

    def skip_known(self, n: int = 1) -> None:
        if n:
            self.stat("known_skipped", n)

    def error(self, reason: str, url: str | None = None, detail: str | None = None) -> None:
        """An error that cost one page or item, not the run."""
        self.stat("errors")
        self.count(reason)
        # One line per failure at the default level is the run's summary (the daemon's, or
        # the `crawl` table): the pages it is made of are shown with -v.
        self.logger.info("%s%s%s", reason, f" at {url}" if url else "", f": {detail}" if detail else "")

    def degrade(self, reason: str) -> None:
        """The source answered but looks broken (nothing found, a block unreadable). A run
        that failed already is not degraded as well: its failure is the root cause."""
        if self.failed_reason is None and reason not in self.degraded_reasons:
            self.degraded_reasons.append(reason)
            self.logger.info("source %s degraded: %s", self.source.name, reason)

    def fail(self, reason: str) -> None:
        """The run could not do its job (e.g. the start page is unreachable)."""
        if self.failed_reason is None:
            self.failed_reason = reason
            self.logger.info("source %s failed: %s", self.source.name, reason)

    async def offload(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in the page worker (crawler.worker), for callbacks: a pure
        function whose arguments and result pickle. A dead worker ends the run."""
        try:
            return await self.worker.run(fn, *args, **kwargs)
        except WorkerDied as exc:
            self.worker_died(exc)
            raise CloseSpider(WORKER_DIED) from None

    def worker_died(self, exc: WorkerDied) -> None:
        """The page worker is gone: nothing more can be read or stored, so the run ends."""
        if self.worker_gone:
            return
        self.worker_gone = True
        self.fail(str(exc))
        engine = self.crawler.engine
        if engine is not None:
            asyncio.ensure_future(_close(engine, WORKER_DIED))

    def on_request_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else None
        self.error(classify_failure(failure), url, failure.getErrorMessage()[:200])
        if request is not None and request.meta.get("defwatch_essential"):
            self.fail(failure_reason(failure, url))

    def _on_spider_error(self, failure: Failure, response: Response, spider: scrapy.Spider) -> None:
        if spider is self:
            self.read_failed(response.url, failure.value or Exception(failure.getErrorMessage()))

    def read_failed(self, url: str | None, exc: BaseException) -> None:
        """An exception while reading a page: an error of the run, which ends degraded."""
        detail = _describe(exc)
        self.read_exceptions.append(f"{detail} at {url}" if url else detail)
        self.error("parse_error", url, detail)

    def store_failed(self, url: str | None, exc: BaseException) -> None:
        """A story or snapshot that could not be stored: an error, and the run fails. The
        story is not stored, so the next run finds it new and stores it then."""
        detail = _describe(exc)
        self.store_exceptions.append(detail)
        self.error("store_error", url, detail)

    # -- the end of the run --------------------------------------------------------------
    def closed(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        reasons = {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("defwatch/reason/")}
        for k, v in stats.items():
            if k.startswith("downloader/response_status_count/"):
                reasons[f"http_status_{k.rsplit('/', 1)[1]}"] = v
        if reason == "shutdown":
            outcome, why = INTERRUPTED, "stopped by a signal before the crawl finished"
        elif reason == "closespider_timeout":
            outcome, why = TIMEOUT, "the crawl took longer than [scheduler] crawl_timeout"
        elif self.failed_reason or reason != "finished":
            outcome, why = FAILED, self.failed_reason or f"crawl ended early: {reason}"
        elif self.store_exceptions:
            n = len(self.store_exceptions)
            outcome, why = (
                FAILED,
                (
                    f"{n} {'item' if n == 1 else 'items'} could not be stored "
                    f"(first: {self.store_exceptions[0]}); they are tried again next run"
                ),
            )
        elif self.degraded_reasons or self.read_exceptions:
            parts = list(self.degraded_reasons)
            if self.read_exceptions:
                n = len(self.read_exceptions)
                parts.append(
                    f"{n} {'exception' if n == 1 else 'exceptions'} while reading pages "
                    f"(first: {self.read_exceptions[0]})"
                )
            outcome, why = DEGRADED, "; ".join(parts)
        else:
            outcome, why = OK, None
        if self.store_exceptions:
            self.forget_validators()
        self.result = RunResult(
            self.source.name,
            outcome,
            self.run_id,
            requests=int(stats.get("downloader/request_count", 0)),
            new_stories=int(stats.get("defwatch/stories_new", 0)),
            revised=int(stats.get("defwatch/stories_revised", 0)),
            known_skipped=int(stats.get("defwatch/known_skipped", 0)),
            errors=int(stats.get("defwatch/errors", 0)),
            reason=why,
            stats={
                **reasons,
                "unchanged": int(stats.get("defwatch/stories_unchanged", 0)),
                "completed": int(stats.get("defwatch/stories_completed", 0)),
            },
        )
        self.store.finish_run(self.result)

    def forget_validators(self) -> None:
        """After stories failed to store, the next run must not get a 304 for the answer that
        listed them: the validators this run kept are dropped (if the store lets us)."""
        for url in self.validated:
            try:
                self.store.set_http_state(url, None, None)
            except Exception as exc:  # the store that failed may fail again; the run says so
                log.warning("could not forget the validators of %s: %s", url, _describe(exc))


async def _close(engine: Any, reason: str) -> None:
    with suppress(RuntimeError):  # the spider closed meanwhile
        await engine.close_spider_async(reason=reason)


def failure_reason(failure: Failure, url: str | None) -> str:
    """A failed request as the reason of a failed run: the root cause, in words."""
    if failure.check(CannotResolveHostError, DNSLookupError):
        host = urlsplit(url).hostname if url else None
        return refused_at_connect(host) or f"cannot resolve host {host or '?'}"
    if failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
        return f"connection refused by {urlsplit(url).netloc if url else '?'}"
    return f"{classify_failure(failure)} at {url}"


def _describe(exc: BaseException) -> str:
    """An exception in one line, at most 200 characters: its type and first line."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:200] if first else type(exc).__name__


def classify_failure(failure: Failure) -> str:
    """The reason a request failed, as counted in the run (``http_500``, ``timeout``...).

    Scrapy 2.19 wraps Twisted's errors in its own exceptions; both are recognised.
    """
    if failure.check(HttpError):
        assert isinstance(failure.value, HttpError)
        return f"http_{failure.value.response.status}"
    if failure.check(DownloadTimeoutError, TwistedTimeoutError, TCPTimedOutError):
        return "timeout"
    if failure.check(CannotResolveHostError, DNSLookupError):
        return "dns"
    if failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
        return "connection_refused"
    if failure.check(DownloadCancelledError):
        return "too_large"  # Scrapy cancels a download only when it outgrows the size limit
    if failure.check(ResponseDataLossError):
        return "truncated_response"
    if failure.check(IgnoreRequest) and "redirection" in str(failure.value):
        return "redirect_loop"
    if failure.check(PrivateAddressRefused):
        return "private_address"
    name = type(failure.value).__name__
    if name == "IgnoreRequest":
        return "ignored"
    return name.lower()


def _pick_source(config: Config, kind: str, name: str | None) -> SourceConfig:
    for s in config.sources:
        if (name and s.name == name) or (not name and s.kind == kind):
            return s
    raise ValueError(f"no source {'named ' + name if name else 'of kind ' + kind} in the configuration")
