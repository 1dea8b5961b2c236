"""``defwatch run``: every source on its cron schedule, each crawl in a child process, then
the alerts and feeds that follow from it; ``defwatch run --once`` does one cycle for cron.

A crawl runs as ``python -m scheduler crawl NAME…`` in its own process because Scrapy's
reactor cannot restart, and a child bounds the memory a long-running daemon can grow to
(``run --once`` forks that child from itself, Scrapy already imported; the daemon forks
its crawls from a zygote it makes before its threads start: scheduler/forks.py). Which
sources go to which process is the dispatcher's (scheduler/dispatch.py).
The child records its own run in the store; the daemon only fills in what the child could
not: a run it had to kill (``timeout``), a run stopped by a signal (``interrupted``), a child
that died before recording anything (``failed``).

SIGTERM and SIGINT stop the scheduler, pass SIGTERM on to running crawls (Scrapy closes
the spider with reason ``shutdown``), wait a few seconds, kill what is left, and exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from core.config import Config, SourceConfig
from core.cron import cron_trigger
from core.errors import EXIT_FAILED, EXIT_OK
from core.model import FAILED_OUTCOMES, Outcome, RunResult
from scheduler.children import (
    START_ALLOWANCE,
    STOP_GRACE,
    ChildOptions,
    Children,
    _Child,
    _duration,
    _utcnow,
    batch_slots,
    kill_after,
)
from scheduler.dispatch import Batch, Dispatcher
from scheduler.forks import Zygote, preload_crawl
from scheduler.lock import HeldLock, child_lock_env
from scheduler.steps import (
    build_feeds,
    close_stale_runs,
    deliver_alerts,
    start_delivery_loop,
    stop_deliveries,
)

if TYPE_CHECKING:
    from crawler.precheck import Checked
    from store import Store

log = logging.getLogger(__name__)

BAD_OUTCOMES = FAILED_OUTCOMES


# --------------------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------------------


class Daemon:
    def __init__(
        self, config: Config, store: Store, options: ChildOptions, lock: HeldLock | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.options = options
        self.lock = lock
        self.children = Children()
        self.stopping = threading.Event()
        self._wake = threading.Event()  # the main thread's wait ends: a stop, or run_once's crawl is over
        self._publish_lock = threading.Lock()
        self._feeds_since: datetime | None = None  # everything before this is in the feeds
        self._output_lock = threading.Lock()
        self._scheduler: Any = None
        self.dispatch = Dispatcher(self)  # the daemon's crawl processes (run_forever)
        self._zygote: Zygote | None = None  # the daemon's crawls are forked from it (run_forever)
        self._alerts: Any = None  # the delivery loop (alerts.loop.DeliveryLoop) while the daemon runs

    @property
    def sources(self) -> list[SourceConfig]:
        return [s for s in self.config.sources if s.enabled]

    # -- one crawl process ---------------------------------------------------------------
    def crawl(self, source: SourceConfig) -> RunResult:
        """Crawl one source in a child process; block until it ends or is killed."""
        return self.crawl_batch([source])[0]

    def crawl_batch(self, sources: Sequence[SourceConfig], batch: Batch | None = None) -> list[RunResult]:
        """Crawl ``sources`` in one child process (a spider each, with its own time limit,
        and its own run recorded); block until it ends or is killed. A result per source.
        With ``batch`` (the daemon's), the dispatcher may see some sources finish earlier."""
        checked = self._precheck(sources)
        if batch is not None and checked.recorded:
            self.dispatch.settled(batch, {n: r.run_id or 0 for n, r in checked.recorded.items()})
        try:
            crawled = self._crawl_process(
                [s for s in sources if s.name not in checked.recorded], batch, checked
            )
        finally:
            checked.clean()
        results = {r.source: r for r in crawled}
        results.update(checked.recorded)
        return [results[s.name] for s in sources]

    def _precheck(self, sources: Sequence[SourceConfig]) -> Checked:
        """``run --once``: the feeds asked before its crawl process is forked (crawler.precheck),
        so an unchanged cycle never imports Scrapy: the runs of those unchanged, recorded;
        the answers of the others, for the crawl. The daemon's crawl processes, forked from
        a zygote that has Scrapy already, ask their feeds themselves (``PRECHECK_ENV``): the
        check's threads and answers would stay in the daemon's memory (+0.9 MB a cycle
        measured at 1,000 feeds), and end with the crawl process there."""
        from crawler.precheck import Checked, check, enabled, summary

        if not enabled(self.config) or not self.options.fork:
            return Checked()
        try:
            checked = check(self.config, self.store, list(sources), stopping=self.stopping.is_set)
        except Exception as exc:  # the crawl asks them all: nothing is lost but the saving
            log.warning("precheck: %s: %s (every source is crawled)", type(exc).__name__, exc)
            return Checked()
        if checked.asked:
            log.info("%s", summary(checked, len(sources)))
        for result in checked.recorded.values():
            self._log_result(result)
        return checked

    def _crawl_process(
        self, sources: Sequence[SourceConfig], batch: Batch | None, checked: Checked
    ) -> list[RunResult]:
        names = [s.name for s in sources]
        if not sources:
            if batch is not None:
                self.dispatch.close(batch)
            return []
        last = self.store.last_runs()
        before = {n: (last[n].run_id or 0) if n in last else 0 for n in names}
        if batch is not None:
            batch.before = before
        env = {**os.environ, "DEFWATCH_PROGRESS": "off", **child_lock_env(self.lock), **checked.env()}
        from crawler.precheck import PRECHECK_ENV

        env[PRECHECK_ENV] = "0" if self.options.fork else "1"  # see _precheck
        fds = (self.lock.fd,) if self.lock is not None else ()
        if self.options.fork:
            preload_crawl()
        spawned = self.children.spawn(
            names, self.options.argv(*names), env, fds, fork=self.options.fork, zygote=self._zygote
        )
        if spawned is None:
            return [RunResult(n, Outcome.INTERRUPTED, reason="the daemon was stopping") for n in names]
        key, child = spawned
        clock, started = time.monotonic(), _utcnow()
        log.info("crawl %s: started (pid %d)", child.label, child.process.pid)
        child.relay = threading.Thread(target=self._relay, args=(child,), name="relay", daemon=True)
        child.relay.start()
        try:
            child.process.wait(timeout=self._kill_after(len(sources)))
        except subprocess.TimeoutExpired:
            child.killed_for_timeout = True
            child.process.kill()
            child.process.wait()
        finally:
            self.children.done(key)
        child.relay.join(timeout=5)
        seconds = time.monotonic() - clock
        finished: dict[str, int] = {}
        if batch is not None:
            finished = self.dispatch.close(batch)
        results = [
            self._record(src, child, before[src.name], started, finished.get(src.name)) for src in sources
        ]
        for result in results:
            self._log_result(result)
        outcomes = Counter(r.outcome for r in results)
        log.info(
            "crawl batch of %d sources: done in %.1fs (%s)",
            len(sources),
            seconds,
            ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        )
        return results

    def _kill_after(self, n: int) -> float:
        """When a crawl process is killed: each spider in it closes itself at crawl_timeout
        (requests in flight cut then too); this is for a process that cannot (its reactor
        held by a callback that never returns). Starting n spiders takes a moment more."""
        return kill_after(self.config.scheduler.crawl_timeout) + START_ALLOWANCE + 0.02 * n

    def _record(
        self, source: SourceConfig, child: _Child, before: int, spawned: datetime, finished: int | None = None
    ) -> RunResult:
        """Read the run the child recorded; finish it, or record one (from ``spawned``, when
        the child was started), when the child could not. The result's duration is the
        recorded run's, so the log says what `defwatch status` says. ``finished``: the run
        the dispatcher saw this source finish while the process went on (the source may be
        crawling again in another process by now: its newer runs are not this one's)."""
        if finished is not None:
            seen = self.store.run(finished)
            assert seen is not None
            return seen
        code = child.process.returncode
        runs = [r for r in self.store.runs(source.name, limit=10) if r["id"] > before]
        outcome: Outcome
        if child.killed_for_timeout:
            outcome = Outcome.TIMEOUT
            why = (
                f"killed after {_duration(self._kill_after(len(child.sources)))}: the crawl "
                f"took longer than crawl_timeout ({_duration(self.config.scheduler.crawl_timeout)})"
            )
        elif self.stopping.is_set():
            outcome, why = Outcome.INTERRUPTED, "stopped by a signal before the crawl finished"
        else:
            outcome = Outcome.FAILED
            why = child.last_error or f"the crawl process ended with status {code}"
        unfinished = [r for r in runs if r["outcome"] == "running"]
        for run in unfinished:
            self.store.finish_run(RunResult(source.name, outcome, run["id"], reason=why))
        if not runs:
            run_id = self.store.start_run(source.name, started=spawned)
            self.store.finish_run(RunResult(source.name, outcome, run_id, reason=why))
            runs = [{"id": run_id}]
        newest = self.store.run(max(int(r["id"]) for r in runs))
        assert newest is not None
        return newest

    def close_stale_runs(self) -> None:
        """Runs left ``running`` by a crawl that died with its daemon (SIGKILL, a power cut).
        The daemon holds the store's lock, which every crawl holds while it runs: none of
        them is alive, so each is recorded ``interrupted``."""
        close_stale_runs(self.store)

    def _log_result(self, r: RunResult) -> None:
        text = "crawl %s: %s, %d new stories, %d requests, %d errors, %.1fs%s"
        args = (r.source, r.outcome, r.new_stories, r.requests, r.errors, r.seconds)
        tail = f" ({r.reason})" if r.reason else ""
        level = logging.INFO if r.outcome == "ok" else logging.WARNING
        counts = {
            "requests": r.requests,
            "new_stories": r.new_stories,
            "revised": r.revised,
            "known_skipped": r.known_skipped,
            "errors": r.errors,
            "seconds": round(r.seconds, 1),
        }
        fields = {
            "source": r.source,
            "run_id": r.run_id,
            "outcome": r.outcome,
            "counts": counts,
            "reason": r.reason,
        }
        log.log(level, text, *args, tail, extra=fields)

    def _relay(self, child: _Child) -> None:
        """Pass a child's log lines on as they come. Its one-line error (``defwatch: …``)
        becomes the reason of the runs it could not record; with JSON logs, any line that is
        not JSON (a traceback, that error) is wrapped, so every line the daemon writes stays
        one JSON document."""
        stream = child.process.stderr
        assert stream is not None
        child.last_error = self._pass_on(stream, f"crawl {child.label}")

    def _pass_on(self, stream: IO[str], label: str) -> str | None:
        """A child's log lines, until its end; its last one-line error, if any."""
        last_error = None
        as_json = self.options.log_format == "json"
        for raw in stream:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("defwatch: "):
                last_error = line[len("defwatch: ") :]
                log.error("%s: %s", label, last_error)
            elif as_json and not _is_json(line):
                log.warning("%s: %s", label, line)
            else:
                self._write(line)
        return last_error

    def _write(self, line: str) -> None:
        with self._output_lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    # -- after crawls: alerts and feeds ---------------------------------------------------
    def publish(self, full: bool = False, once: bool = False) -> None:
        """Wake the deliveries (one cycle: deliver what is due), then rebuild the feeds whose
        data changed since the last publication (all of them the first time, and with
        ``full``; with ``once``, since the last cycle's, as recorded beside the feeds)."""
        if self.stopping.is_set():
            return  # the next start catches up: the outbox is kept, the first build is full
        with self._publish_lock:
            started = _utcnow()
            self.deliver_alerts()
            since = None if full else self._feeds_since
            if self._build_feeds(since, once):
                # A story saved by a crawl still running may commit after this build read the
                # store, with a time stamp before ``started``: such crawls are read again.
                self._feeds_since = min([started, *self.children.started()])

    def _build_feeds(self, since: datetime | None, once: bool) -> bool:
        """The daemon builds its feeds in a child of its zygote (:func:`build_feeds_child`):
        a build reads every story's place in the store (feeds.story_index), so its memory
        grows with the store, and the allocators would keep that high-water mark in the
        daemon for good (docs/performance.md, "Daemon memory"); the child returns it all when
        it ends. In this process when there is no zygote or no configuration file, or the
        child could not read the file (it goes on with what it had, as the daemon does)."""
        zygote, path = self._zygote, self.options.config_path
        if not once and zygote is not None and path is not None:
            kwargs = {
                "config_path": path,
                "since": since.isoformat() if since is not None else None,
                "verbosity": self.options.verbosity,
                "log_format": self.options.log_format,
            }
            child = zygote.call(
                f"{__name__}:build_feeds_child", kwargs, {**os.environ, "DEFWATCH_PROGRESS": "off"}
            )
            if child is not None:
                with child.stderr:
                    last_error = self._pass_on(child.stderr, "feeds")
                code = child.wait()
                if code in (0, 1):  # built, or not and said why (as in this process)
                    return code == 0
                if code != NO_CONFIG:
                    log.warning(
                        "feeds: the build process ended with status %d%s; building in the daemon",
                        code,
                        f" ({last_error})" if last_error else "",
                    )
        return bool(build_feeds(self.config, self.store, since, due=once))

    def deliver_alerts(self) -> None:
        """The daemon wakes its delivery loop (deliveries never hold a crawl, nor the other way
        round); one cycle (``run --once``) delivers everything due before it ends."""
        if self.stopping.is_set():
            return
        if self._alerts is not None:
            self._alerts.wake()
        else:
            deliver_alerts(self.config, self.store)

    # -- the daemon -----------------------------------------------------------------------
    def run_forever(self, banner: Callable[[list[str]], None] | None = None) -> int:
        """Schedule every enabled source; block until SIGTERM or SIGINT; exit 0.

        A source's schedule firing only marks it due. One dispatcher gathers the sources due
        at the same moment and crawls them in one process (:meth:`crawl_batch`), split over
        the cores when there are many (:func:`split_batch`), at most :func:`batch_slots`
        busy processes at once. A source whose previous run is still going when it is due
        again starts as soon as that run ends (the dispatcher reads the runs its processes
        record); due once more meanwhile, that run is skipped (said in the log). The
        configuration file is read again when it changes: sources added, removed or
        rescheduled take effect without a restart."""
        from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads
        from apscheduler.schedulers.background import BackgroundScheduler

        sources = self.sources
        self.close_stale_runs()
        self._zygote = Zygote.start()  # before any thread of ours: it forks the crawls
        scheduler = BackgroundScheduler(timezone=UTC, executors={"default": JobThreads(max_workers=4)})
        self._scheduler = scheduler
        due_now = self._missed(sources)
        for src in sources:
            self._schedule(src, now=src.name in due_now)
        self._alerts = start_delivery_loop(self.config, self.store)
        shown = ", ".join(f"{s.name} {s.schedule!r}" for s in sources[:10])
        more = f" and {len(sources) - 10} more" if len(sources) > 10 else ""
        log.info(
            "daemon started: %d sources (%s%s)%s",
            len(sources),
            shown,
            more,
            f"; crawling now: {len(due_now)} due" if due_now else "",
        )
        slots = batch_slots()
        # A process whose last few sources wait on slow sites leaves its core to the next
        # one: up to twice the slots of processes may be alive (see Batch.busy).
        batches = ThreadPoolExecutor(max_workers=2 * slots, thread_name_prefix="crawl")
        dispatcher = threading.Thread(
            target=self.dispatch.run, args=(batches, slots), name="crawl-dispatch", daemon=True
        )
        dispatcher.start()
        with self._signals():
            try:
                if banner is not None:  # "SIGTERM stops it" is true from here on
                    banner(due_now)
                scheduler.start()
                self._wake.wait()  # only a signal ends it (the watcher thread sets it)
            finally:
                self.stopping.set()
                stop_deliveries()
                self.dispatch.wake()
                self._stop_children()
                if scheduler.running:
                    scheduler.shutdown(wait=True)
                dispatcher.join(timeout=STOP_GRACE)
                batches.shutdown(wait=True)
                if self._alerts is not None:
                    self._alerts.stop()
                if self._zygote is not None:
                    self._zygote.close()
        log.info("daemon stopped")
        return EXIT_OK

    def _schedule(self, src: SourceConfig, now: bool = False) -> None:
        trigger = cron_trigger(src.schedule, src.tz)
        trigger.jitter = int(self.config.scheduler.jitter) or None
        self._scheduler.add_job(
            self.dispatch.due,
            trigger,
            args=[src],
            id=src.name,
            name=f"crawl {src.name}",
            max_instances=1,
            coalesce=True,  # runs missed meanwhile collapse into one
            misfire_grace_time=max(1, int(self.config.scheduler.misfire_grace)),
            replace_existing=True,
            **({"next_run_time": _utcnow()} if now else {}),
        )

    def _missed(self, sources: Sequence[SourceConfig]) -> list[str]:
        """Sources never crawled, or whose schedule fired while the daemon was down: each
        runs once right away (however many runs were missed)."""
        last = self.store.last_runs()
        now = _utcnow()
        due = []
        for src in sources:
            run = last.get(src.name)
            if run is None:
                due.append(src.name)
                continue
            fire = cron_trigger(src.schedule, src.tz).get_next_fire_time(None, run.started)
            if fire is not None and fire <= now:
                due.append(src.name)
        return due

    # -- one cycle ------------------------------------------------------------------------
    def run_once(self) -> tuple[int, list[RunResult]]:
        """Crawl every enabled source in one crawl process, then deliver and rebuild every
        feed. Exit 1 when a crawl failed, timed out or was interrupted by anything but our
        own stop; 0 when a signal stopped the cycle."""
        sources = self.sources
        self.close_stale_runs()
        results: list[RunResult] = []
        with (
            self._signals(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl") as pool,
        ):
            future = pool.submit(self.crawl_batch, sources)
            future.add_done_callback(lambda _: self._wake.set())
            self._wake.wait()  # the crawl is over, or a signal came
            if self.stopping.is_set():
                self._stop_children()
            wait_all([future])
            if future.exception() is None:
                results = future.result()
            else:
                exc = future.exception()
                log.error("crawl: %s: %s", type(exc).__name__, exc)
            self.publish(once=True)
        if self.stopping.is_set():
            return EXIT_OK, results
        failed = len(results) < len(sources) or any(r.outcome in BAD_OUTCOMES for r in results)
        return (EXIT_FAILED if failed else EXIT_OK), results

    # -- stopping -------------------------------------------------------------------------
    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop the daemon. The handler itself does nothing: Python writes
        each signal's number to a pipe (:func:`signal.set_wakeup_fd`) and a watcher thread
        acts on it. Raising from the handler instead would land anywhere in the main thread,
        inside a lock or inside APScheduler (which swallowed it, and the daemon went on)."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        watcher = threading.Thread(target=self._watch, args=(read_fd,), name="signals", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.write(write_fd, b"\0")  # the watcher's end
            watcher.join(timeout=STOP_GRACE)
            os.close(write_fd)
            os.close(read_fd)
            stop_deliveries(False)  # the stop is over: deliveries may run again in this process

    def _watch(self, read_fd: int) -> None:
        """The signal watcher: the first SIGTERM/SIGINT stops, a second kills the crawls."""
        while True:
            for signum in os.read(read_fd, 64):
                if signum == 0:
                    return
                if signum not in (signal.SIGTERM, signal.SIGINT):
                    continue
                name = signal.Signals(signum).name
                if self.stopping.is_set():  # a second signal: no more waiting
                    log.warning("%s again: killing running crawls", name)
                    self.children.signal_all(signal.SIGKILL)
                    continue
                self.stopping.set()
                stop_deliveries()  # attempts in flight are cut now; they stay due
                log.info("%s: stopping", name)
                self._wake.set()

    def _stop_children(self) -> None:
        """SIGTERM to every crawl (Scrapy closes its spider, reason ``shutdown``); what is
        still running after STOP_GRACE seconds is killed and recorded by the daemon."""
        self.stopping.set()
        self.children.signal_all(signal.SIGTERM)
        if not self.children.wait_empty(STOP_GRACE):
            log.warning("crawls still running %.0fs after SIGTERM: killing them", STOP_GRACE)
            self.children.signal_all(signal.SIGKILL)
            self.children.wait_empty(STOP_GRACE)


NO_CONFIG = 3  # the exit status of build_feeds_child that could not read the configuration


def build_feeds_child(config_path: str, since: str | None, verbosity: int, log_format: str) -> int:
    """In a child of the daemon's zygote (Daemon._build_feeds): rebuild the feeds changed
    since ``since`` (ISO time; all of them when None). 0 when built, 1 when not (said in
    the log), NO_CONFIG when the configuration file cannot be read now."""
    from core import logs
    from core.config import ConfigError, load_config
    from store import Store

    logs.setup(verbosity=verbosity, fmt=log_format)
    try:
        config = load_config(config_path)
    except ConfigError:
        return NO_CONFIG  # the daemon says so when it reads the file, and builds itself
    store = Store.open(config.store.url, migrate=False, create=False)
    try:
        when = datetime.fromisoformat(since) if since is not None else None
        return 0 if build_feeds(config, store, when) else 1
    finally:
        store.close()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler of SIGTERM/SIGINT: the wakeup pipe carries the signal."""


def _is_json(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


__all__: list[str] = [
    "ChildOptions",
    "Daemon",
    "build_feeds",
    "close_stale_runs",
    "deliver_alerts",
    "kill_after",
]
