"""Page work beside the crawl: reading article pages and storing stories in a second process.

Scrapy fetches and runs every callback on one thread. Whatever a callback or the item
pipeline does with the CPU (an lxml parse, trafilatura, link detection, the alert outbox
in the story's transaction) holds up the next request for as long, so a crawl spent most
of its time not fetching (docs/performance.md). A crawl started by
:func:`crawler.runner.crawl` therefore starts one :class:`PageWorker`: a process that reads
the pages spiders hand it and keeps the stories they yield, while the crawling process goes
on fetching. One process, one job at a time, in the order given: stories are stored in the
order they were read, as before, and the store still has one writer for stories.

Spiders hold it as ``self.worker`` (:class:`Worker`). Callbacks call
``await self.offload(fn, ...)`` (crawler.base) for a pure function of the page (its
arguments and result are pickled: no lxml elements, no spider); the item pipeline calls
``await spider.worker.save_story(story)`` and ``save_ranking_snapshot(...)``, which go to
the worker's :class:`Sink`: the ingest step (ingest.Ingest: save, link copies, movements,
alert outbox), which whoever starts the crawl hands over as a factory ``(store, config)``;
this module does not know the stages. :class:`InlineWorker` does the same in the crawling
process, for spiders started by ``scrapy crawl`` and for a crawl given a store of its own.

The worker process is forked before the reactor starts (no threads to inherit). It ignores
SIGINT and SIGTERM, which stop the crawl: the crawling process closes its spiders, and the
worker finishes the stories still queued before it exits, so nothing read is lost. If the
crawling process dies (SIGKILL at the crawl timeout), the worker notices within half a second
and exits too. A worker that dies is reported as :class:`WorkerDied`, which fails the run.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from core.config import Config
    from core.model import RankingSnapshot
    from store import SaveResult, Store, StoryIn

P = ParamSpec("P")
T = TypeVar("T")

BATCH = 200  # stories at most in one transaction of the page worker
GATHER = 0.02  # seconds a story waits for others to share its transaction


class Sink(Protocol):
    """Where a crawl's items go: the ingest step, or :class:`StoreSink` (saved, nothing else)."""

    def save_story(self, story: StoryIn) -> SaveResult: ...

    def save_stories(self, stories: list[StoryIn]) -> list[SaveResult]: ...

    def save_ranking_snapshot(self, snapshot: RankingSnapshot) -> int: ...


# Makes the sink for a store: ingest.Ingest, handed down by whoever starts the crawl.
SinkFactory = Callable[["Store", "Config"], Sink]


class StoreSink:
    """Items only saved (no ingest step handed in)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save_story(self, story: StoryIn) -> SaveResult:
        return self.store.save_story(story)

    def save_stories(self, stories: list[StoryIn]) -> list[SaveResult]:
        with self.store.transaction() as conn:
            return [self.store.save_story(story, conn) for story in stories]

    def save_ranking_snapshot(self, snapshot: RankingSnapshot) -> int:
        return self.store.save_ranking_snapshot(snapshot)


def make_sink(store: Store, config: Config | None, ingest: SinkFactory | None) -> Sink:
    if ingest is None:
        return StoreSink(store)
    assert config is not None, "the ingest step needs the configuration (rules, channels)"
    return ingest(store, config)


class WorkerDied(RuntimeError):
    """The worker process ended in the middle of a crawl (killed, or out of memory)."""


class Worker(ABC):
    """Where a spider's pages are read (:meth:`run`) and its stories stored."""

    @abstractmethod
    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)``, wherever this worker works."""

    @abstractmethod
    async def _call_store(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``sink.<method>(*args, **kwargs)`` on this worker's sink."""

    async def save_story(self, story: StoryIn) -> SaveResult:
        result: SaveResult = await self._call_store("save_story", story)
        return result

    async def save_ranking_snapshot(self, snapshot: RankingSnapshot) -> None:
        await self._call_store("save_ranking_snapshot", snapshot)


class InlineWorker(Worker):
    """The work done right here, on the reactor's thread, into ``sink``."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return fn(*args, **kwargs)

    async def _call_store(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.sink, method)(*args, **kwargs)


class PageWorker(Worker):
    """A worker process with its own connection to the configured store, and its own sink
    made there by ``ingest`` (None: the store alone)."""

    def __init__(self, config: Config, ingest: SinkFactory | None = None) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_start, initargs=(config, ingest, os.getpid())
        )
        # Start it now, before the reactor and its threads exist, and fail here if it cannot.
        self.pid: int = self._pool.submit(_ready).result()
        self.closed = False
        self._batch: list[tuple[StoryIn, asyncio.Future[SaveResult]]] = []
        self._flush_handle: asyncio.TimerHandle | None = None

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except (BrokenProcessPool, RuntimeError) as exc:
            raise WorkerDied(f"the page worker process is gone ({exc})") from None
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            raise WorkerDied(f"the page worker process died ({exc})") from None

    async def _call_store(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self.run(_call_store, method, args, kwargs)

    async def save_story(self, story: StoryIn) -> SaveResult:
        """Stored with the stories handed in about the same time (by any spider of the
        process), many to one transaction (:data:`BATCH` at most, gathered for
        :data:`GATHER` seconds): committing each story alone was most of the time a large
        first cycle took. A result comes back only once its transaction has committed, so
        a story counted as stored is stored; one story's error is its own (the batch is
        stored again one by one)."""
        future: asyncio.Future[SaveResult] = asyncio.get_running_loop().create_future()
        self._batch.append((story, future))
        if len(self._batch) >= BATCH:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(GATHER, self._flush)
        return await future

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        batch, self._batch = self._batch, []
        if batch:
            asyncio.ensure_future(self._save_batch(batch))

    async def _save_batch(self, batch: list[tuple[StoryIn, asyncio.Future[SaveResult]]]) -> None:
        try:
            results = await self.run(_save_stories, [story for story, _ in batch])
        except BaseException as exc:  # the worker died: every story of the batch hears it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def close(self) -> None:
        """Wait for the queued work to be done, then end the process."""
        if not self.closed:
            self.closed = True
            self._pool.shutdown(wait=True)


# -- in the worker process -----------------------------------------------------------------------

_config: Config | None = None
_ingest: SinkFactory | None = None
_sink: Sink | None = None


def _start(config: Config, ingest: SinkFactory | None, parent: int) -> None:
    global _config, _ingest, _sink
    _config, _ingest, _sink = config, ingest, None
    # Log lines go straight to stderr, not through a live progress display the crawling
    # process may be drawing (its lock and its thread were not inherited).
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stderr)
    # The crawling process decides when to stop; the work it queued is finished first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="defwatch-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the crawling process is gone: nobody waits for results
            os._exit(1)


def _ready() -> int:
    return os.getpid()


def _worker_sink() -> Sink:
    """The worker's own store (never a connection inherited from the crawling process),
    behind the sink it was handed."""
    global _sink
    if _sink is None:
        from store import Store

        assert _config is not None
        _sink = make_sink(Store.open(_config.store.url, migrate=False), _config, _ingest)
    return _sink


def _call_store(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return getattr(_worker_sink(), method)(*args, **kwargs)


def _save_stories(stories: list[StoryIn]) -> list[SaveResult | Exception]:
    """Each story saved (through the sink: save, links, outbox) in one transaction; if any
    fails, the transaction is rolled back and each is saved again on its own, its error
    returned in its place."""
    sink = _worker_sink()
    try:
        return list(sink.save_stories(stories))
    except Exception:
        if len(stories) == 1:
            raise
    out: list[SaveResult | Exception] = []
    for story in stories:
        try:
            out.append(sink.save_story(story))
        except Exception as exc:
            out.append(exc)
    return out
