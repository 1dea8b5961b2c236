"""The daemon's crawl children: one ``defwatch crawl`` process per batch of sources, its
time limit, and how many may run at once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scheduler.forks import ForkedCrawl, Zygote, ZygoteCrawl

if TYPE_CHECKING:
    pass


log = logging.getLogger("scheduler.daemon")

STOP_GRACE = 3.0  # seconds a crawl gets to close its spider after SIGTERM before it is killed


@dataclass
class ChildOptions:
    """What every crawl child is started with: the daemon's own configuration and logging."""

    config_path: str | None
    verbosity: int = 0
    log_format: str = "text"
    python: str = field(default_factory=lambda: sys.executable)
    fork: bool = False  # run --once: the crawl child is a fork of this process (ForkedCrawl)

    def argv(self, *sources: str) -> list[str]:
        argv = [self.python, "-m", "scheduler", "--log-format", self.log_format]
        if self.verbosity:
            argv.append("-" + "v" * self.verbosity)
        if self.config_path:
            argv += ["--config", self.config_path]
        return [*argv, "crawl", *sources]


def kill_after(crawl_timeout: float) -> float:
    """How long a crawl may take before it is cut. In the crawl process each spider closes
    itself at CLOSESPIDER_TIMEOUT (the same ``crawl_timeout``), its requests in flight cut
    then (crawler.middlewares.CrawlDeadlineMiddleware); a little later (5%, 1 to 30 s, plus
    the time to start the process's spiders, see Daemon._kill_after) the daemon kills a
    process that could not (a callback that never returns holds its reactor)."""
    return crawl_timeout + min(30.0, max(1.0, crawl_timeout * 0.05))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# --------------------------------------------------------------------------------------
# Crawl children
# --------------------------------------------------------------------------------------


@dataclass
class _Child:
    """One crawl process: every source of one cycle (a batch), each its own spider in it."""

    sources: list[str]
    process: subprocess.Popen[str] | ForkedCrawl | ZygoteCrawl
    started: datetime
    last_error: str | None = None
    relay: threading.Thread | None = None
    killed_for_timeout: bool = False

    @property
    def label(self) -> str:
        if len(self.sources) <= 3:
            return ", ".join(self.sources)
        return f"{', '.join(self.sources[:2])} and {len(self.sources) - 2} more"


class Children:
    """The running crawl processes, so that a signal can reach all of them."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._running: dict[int, _Child] = {}
        self._next = 0
        self.closed = False  # no new children once stopping

    def spawn(
        self,
        sources: list[str],
        argv: Sequence[str],
        env: dict[str, str],
        pass_fds: Sequence[int] = (),
        fork: bool = False,
        zygote: Zygote | None = None,
    ) -> tuple[int, _Child] | None:
        """Start ``argv`` (``python -m scheduler … crawl NAMES``); with ``fork``, as a fork of
        this process running the same command line (see :class:`ForkedCrawl`); with a
        ``zygote``, as a fork of it (a fresh process if the zygote is gone)."""
        with self._cond:
            if self.closed:
                return None
            process: subprocess.Popen[str] | ForkedCrawl | ZygoteCrawl | None = None
            if fork:
                process = ForkedCrawl.start(list(argv[3:]), env)
            elif zygote is not None:
                process = zygote.spawn(list(argv[3:]), env)
                if process is None:
                    log.warning("the crawl zygote is gone: crawl processes start afresh")
            if process is None:
                process = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,  # the crawl's summary table; the store has the numbers
                    stderr=subprocess.PIPE,  # relayed line by line (see Daemon._relay)
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    env=env,
                    pass_fds=tuple(pass_fds),  # the store's lock: held by the child too
                    start_new_session=True,  # a terminal's Ctrl-C reaches the daemon only, which forwards it once
                )
            self._next += 1
            child = _Child(list(sources), process, _utcnow())
            self._running[self._next] = child
            return self._next, child

    def done(self, key: int) -> None:
        with self._cond:
            self._running.pop(key, None)
            self._cond.notify_all()

    def started(self) -> list[datetime]:
        with self._cond:
            return [c.started for c in self._running.values()]

    def signal_all(self, signum: int) -> None:
        with self._cond:
            if signum == signal.SIGTERM:
                self.closed = True
            for child in list(self._running.values()):
                with suppress(ProcessLookupError):  # it has just ended
                    child.process.send_signal(signum)

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._running, timeout)


def batch_slots() -> int:
    """How many crawl processes the daemon runs at once: no more than the cores (each
    has its page worker beside it), at least one."""
    return max(1, min(4, os.cpu_count() or 1))


START_ALLOWANCE = 15.0  # seconds for a crawl process to start (Python, Scrapy, on a busy machine)
