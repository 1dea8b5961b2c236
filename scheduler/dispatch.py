"""The daemon's dispatcher: when sources' schedules fire, which crawl process each goes to.

Sources due at the same moment crawl together in one process (Daemon.crawl_batch), at most
one busy process per core. A source due while its previous run goes on starts when that run
ends: the dispatcher reads the runs each process records in the store as its spiders close,
so a slow source holds only itself, never the other sources of its process. The
configuration file is read again when it changes (sources added, removed, rescheduled)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from core.config import Config, ConfigError, SourceConfig, load_config
from core.model import Outcome, RunResult

if TYPE_CHECKING:
    from scheduler.children import ChildOptions
    from store import Store


class Daemon(Protocol):
    """What the dispatcher uses of its daemon (scheduler.daemon.Daemon)."""

    config: Config
    options: ChildOptions
    store: Store
    stopping: threading.Event
    _scheduler: Any

    @property
    def sources(self) -> list[SourceConfig]: ...
    def crawl_batch(self, sources: Sequence[SourceConfig], batch: Batch | None = None) -> list[RunResult]: ...
    def publish(self, full: bool = False, once: bool = False) -> None: ...
    def _schedule(self, src: SourceConfig, now: bool = False) -> None: ...
    def _missed(self, sources: Sequence[SourceConfig]) -> list[str]: ...


log = logging.getLogger("scheduler.daemon")

GATHER = 0.5  # seconds the daemon waits for other sources due at the same moment to join a batch
HOLD = 10.0  # seconds sources free to crawl wait for others due with them (see Dispatcher.gathered)
REFRESH = 1.0  # seconds between reads of the runs while sources wait for theirs to end
RELOAD_EVERY = 2.0  # seconds between looks at the configuration file's time stamp
SPLIT_AT = 1000  # sources due together are split over free cores only into parts this big


def split_batch(sources: list[SourceConfig], most: int) -> list[list[SourceConfig]]:
    """Sources due together, in at most ``most`` processes (the free cores), of at least
    SPLIT_AT sources each: every process has its page worker and its own memory (1,000
    feeds: about 480 MB of PSS for the daemon's tree in one process, 600 MB in two of 500),
    so only very many sources are split. Neighbours in the configuration stay together."""
    parts = max(1, min(most, len(sources) // SPLIT_AT))
    size, extra = divmod(len(sources), parts)
    out, at = [], 0
    for i in range(parts):
        end = at + size + (1 if i < extra else 0)
        out.append(sources[at:end])
        at = end
    return out


@dataclass(eq=False)
class Batch:
    """The daemon's view of one crawl process while it runs: its sources, the run each had
    before it (``before``), those still crawling, and the runs of those seen to end while the
    process goes on with the others (each spider records its run when it closes)."""

    names: list[str]
    before: dict[str, int] = field(default_factory=dict)
    remaining: set[str] = field(init=False)
    finished: dict[str, int] = field(default_factory=dict)
    closing: bool = False  # the process has ended: its runs are being read

    def __post_init__(self) -> None:
        self.remaining = set(self.names)

    def busy(self) -> bool:
        """A process with nine tenths of its sources done waits on a few slow sites: it no
        longer counts against the cores (but against twice their number)."""
        return len(self.remaining) * 10 > len(self.names)


def _file_signature(path: str | None) -> tuple[int, int, int] | None:
    """What tells that a file has changed: its time stamp, size and inode."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Dispatcher:
    """Sources due, sources waiting for their previous run, the processes crawling; the
    thread that starts processes (:meth:`run`); the configuration's changes (:meth:`reload`)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.cond = threading.Condition()
        self._pending: dict[str, SourceConfig] = {}  # due, to start in the next process
        self._waiting: dict[str, SourceConfig] = {}  # due while their previous run goes on
        self._crawling: dict[str, Batch] = {}  # sources whose run is going, by process
        self._running: list[Batch] = []  # the crawl processes alive
        self._config_seen: tuple[int, int, int] | None = _file_signature(daemon.options.config_path)
        self._held_since: float | None = None  # since when sources free to go wait for others
        self.skipped = 0  # runs dropped because the source's previous run was still going

    def close(self, batch: Batch) -> dict[str, int]:
        """A process has ended: from here on none of its sources is handed to another; the
        runs of those seen to end while it went on (the source may be crawling again)."""
        with self.cond:
            batch.closing = True
            return dict(batch.finished)

    def settled(self, batch: Batch, runs: dict[str, int]) -> None:
        """Sources of a batch whose runs ended before its process started (crawler.precheck:
        unchanged feeds): free to be crawled again."""
        with self.cond:
            for name, run_id in runs.items():
                batch.remaining.discard(name)
                batch.finished[name] = run_id
                if self._crawling.get(name) is batch:
                    del self._crawling[name]
            self.cond.notify_all()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def due(self, source: SourceConfig) -> None:
        """A source's schedule fired: queue it for the next batch; when its previous run is
        still going, start it when that run ends; when it is already waiting, skip this run."""
        with self.cond:
            name = source.name
            if name in self._pending or name in self._waiting:
                self.skipped += 1
                log.warning("crawl %s: due again while its previous run is still going; skipped", name)
                return
            if name in self._crawling:
                self._waiting[name] = source
                log.info("crawl %s: due while its previous run is still going; starts when it ends", name)
            else:
                self._pending[name] = source
            self.cond.notify_all()

    def free(self, slots: int) -> bool:
        """Whether another crawl process may start (under ``cond``)."""
        busy = sum(1 for b in self._running if b.busy())
        return busy < slots and len(self._running) < 2 * slots

    def run(self, batches: ThreadPoolExecutor, slots: int) -> None:
        """Start crawl processes for what is due whenever a slot is free; meanwhile, while
        sources wait for their previous run or for a slot, read which runs have ended."""
        while not self.daemon.stopping.is_set():
            self.reload()
            with self.cond:
                self.cond.wait_for(
                    lambda: self.daemon.stopping.is_set() or bool(self._pending or self._waiting),
                    timeout=RELOAD_EVERY,
                )
                if self.daemon.stopping.is_set():
                    return
                if not (self._pending or self._waiting):
                    continue
                blocked = bool(self._waiting) or not self.free(slots)
            if blocked:
                self.release_finished()
            with self.cond:
                for name in [n for n in self._waiting if n not in self._crawling]:
                    self._pending[name] = self._waiting.pop(name)
                if not (self._pending and self.free(slots) and self.gathered()):
                    # a process ending notifies; runs ending inside one are read again then
                    self.cond.wait(timeout=REFRESH)
                    continue
            time.sleep(GATHER)  # the other sources due this second join the batch
            self.reload()
            with self.cond:
                due = list(self._pending.values())
                self._pending.clear()
                self._held_since = None
                if not due:
                    continue
                free = slots - sum(1 for b in self._running if b.busy())
                parts = split_batch(due, max(1, min(free, 2 * slots - len(self._running))))
                for part in parts:
                    batch = Batch([s.name for s in part])
                    self._running.append(batch)
                    for s in part:
                        self._crawling[s.name] = batch
                    batches.submit(self.crawl, part, batch)

    def gathered(self) -> bool:
        """Whether the sources due together are all in (under ``cond``): while some
        still wait on a process busy with their previous runs, which usually ends soon, those
        already free wait for them (HOLD seconds at most, unless they are many) rather than
        start a process of their own: sources due together stay together. Sources waiting on
        a process's last few stragglers (a slow site) do not hold the others."""
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        if len(self._pending) >= SPLIT_AT or now - self._held_since >= HOLD:
            return True
        return not any(self._crawling[name].busy() for name in self._waiting)

    def release_finished(self) -> None:
        """Sources of running processes whose runs have ended (read from the store, where
        each spider records its run when it closes): free to be crawled again, and their
        process no longer busy once most of its sources are done."""
        with self.cond:
            open_batches = [b for b in self._running if b.before and not b.closing and b.remaining]
        if not open_batches:
            return
        try:
            last = self.daemon.store.last_runs()
        except Exception as exc:  # a busy store: read again on the next round
            log.debug("reading the runs: %s: %s", type(exc).__name__, exc)
            return
        with self.cond:
            for batch in open_batches:
                if batch.closing:
                    continue
                for name in list(batch.remaining):
                    run = last.get(name)
                    if (
                        run is None
                        or run.outcome == Outcome.RUNNING
                        or (run.run_id or 0) <= batch.before[name]
                    ):
                        continue
                    batch.remaining.discard(name)
                    batch.finished[name] = run.run_id or 0
                    if self._crawling.get(name) is batch:
                        del self._crawling[name]

    def crawl(self, part: list[SourceConfig], batch: Batch) -> None:
        try:
            self.daemon.crawl_batch(part, batch)
        except Exception as exc:  # one crawl's trouble must not stop the daemon
            log.error("crawl: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        finally:  # the sources may crawl again while the feeds are built (in this process)
            with self.cond:
                batch.closing = True
                for name in batch.names:
                    if self._crawling.get(name) is batch:
                        del self._crawling[name]
                self._running.remove(batch)
                self.cond.notify_all()
        try:
            self.daemon.publish()
        except Exception as exc:
            log.error("publish: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        if (
            self.daemon._scheduler is not None
            and not self.daemon.stopping.is_set()
            and log.isEnabledFor(logging.INFO)
        ):
            for source in part[:10]:
                job = self.daemon._scheduler.get_job(source.name)
                if job is not None and job.next_run_time is not None:
                    when = job.next_run_time.astimezone(source.tz).isoformat()
                    log.info("crawl %s: next at %s", source.name, when)

    def reload(self) -> None:
        """Read the configuration file again when it has changed: sources added are
        scheduled (crawled at once, never having run), sources removed or disabled are
        unscheduled (a crawl of one under way ends as it would), sources whose schedule
        changed are rescheduled. A file that no longer loads is said once and the daemon
        goes on with what it had (the crawl processes, which read it too, fail and say why).
        Other settings take effect at the next start."""
        from apscheduler.jobstores.base import JobLookupError

        path = self.daemon.options.config_path
        seen = _file_signature(path)
        if path is None or seen == self._config_seen or self.daemon._scheduler is None:
            return
        self._config_seen = seen
        try:
            config = load_config(path)
        except ConfigError as exc:
            log.error("configuration changed but not read again: %s", exc)
            return
        old = {s.name: s for s in self.daemon.sources}
        new = {s.name: s for s in config.sources if s.enabled}
        added = [n for n in new if n not in old]
        removed = [n for n in old if n not in new]
        changed = [
            n for n in new if n in old and (new[n].schedule, new[n].tz) != (old[n].schedule, old[n].tz)
        ]
        self.daemon.config = config
        for name in removed:
            with suppress(JobLookupError):
                self.daemon._scheduler.remove_job(name)
            with self.cond:
                self._pending.pop(name, None)
                self._waiting.pop(name, None)
        due_now = set(self.daemon._missed([new[n] for n in added])) if added else set()
        for name in added:
            self.daemon._schedule(new[name], now=name in due_now)
        for name in changed:
            self.daemon._schedule(new[name])
        with self.cond:  # what is queued crawls with its source as it now reads
            for queue in (self._pending, self._waiting):
                for name in queue:
                    queue[name] = new[name]
        log.info(
            "configuration read again: %d sources (added: %s; removed: %s; rescheduled: %s)",
            len(new),
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
            ", ".join(changed) or "none",
        )
