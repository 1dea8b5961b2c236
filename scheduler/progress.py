"""What ``defwatch crawl`` shows while it works: a live display per source (requests, new
stories) in a terminal, plain log lines in a pipe or a file.

Progress follows each Scrapy crawler through its signals, so the crawl itself knows nothing
about it. ``DEFWATCH_PROGRESS`` = ``auto`` (the default), ``live``, ``lines`` or ``off``;
the daemon sets ``off`` for its crawl children, whose results it reports itself.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

ENV = "DEFWATCH_PROGRESS"
LINE_INTERVAL = 5.0  # seconds between two progress lines of one source

_ENDINGS = {"finished": "done", "shutdown": "interrupted", "closespider_timeout": "timeout"}


@dataclass
class SourceProgress:
    name: str
    requests: int = 0
    new_stories: int = 0
    state: str = "waiting"  # waiting | crawling | done | interrupted | timeout | <close reason>


class _Watch:
    """The signal receivers of one crawler (Scrapy holds receivers weakly: we keep them)."""

    def __init__(self, owner: CrawlProgress, progress: SourceProgress, crawler: Crawler) -> None:
        self.owner = owner
        self.progress = progress
        self.crawler = crawler
        for signal in (signals.request_reached_downloader, signals.item_scraped, signals.response_received):
            crawler.signals.connect(self.on_activity, signal=signal)
        crawler.signals.connect(self.on_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.on_closed, signal=signals.spider_closed)

    def on_opened(self, **_: Any) -> None:
        self.progress.state = "crawling"
        self.owner.changed(self.progress, event="started")

    def on_activity(self, **_: Any) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        self.progress.requests = int(stats.get("downloader/request_count", 0))
        self.progress.new_stories = int(stats.get("defwatch/stories_new", 0))
        self.owner.changed(self.progress)

    def on_closed(self, reason: str = "finished", **_: Any) -> None:
        self.on_activity()
        self.progress.state = _ENDINGS.get(reason, reason)
        self.owner.changed(self.progress, event="ended")


class CrawlProgress:
    """Base: follows crawlers; subclasses decide how a change is shown."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceProgress] = {}
        self._watches: list[_Watch] = []

    def watch(self, name: str, crawler: Crawler) -> None:
        """Follow ``crawler``, which crawls source ``name`` (called by crawler.runner)."""
        progress = SourceProgress(name)
        self.sources[name] = progress
        self._watches.append(_Watch(self, progress, crawler))
        self.added(progress)

    def added(self, progress: SourceProgress) -> None:
        pass

    def changed(self, progress: SourceProgress, event: str | None = None) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class LineProgress(CrawlProgress):
    """One log line when a source starts and ends, and at most every few seconds between."""

    def __init__(self, interval: float = LINE_INTERVAL) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[str, float] = {}

    def start(self) -> None:
        # Progress is what this mode is for: shown at the default verbosity.
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)

    def changed(self, progress: SourceProgress, event: str | None = None) -> None:
        now = time.monotonic()
        if event == "started":
            log.info("crawl %s: started", progress.name)
        elif event == "ended":
            log.info(
                "crawl %s: %s, %d requests, %d new stories",
                progress.name,
                progress.state,
                progress.requests,
                progress.new_stories,
            )
        elif now - self._last.get(progress.name, now - self.interval) >= self.interval:
            log.info(
                "crawl %s: %d requests, %d new stories so far",
                progress.name,
                progress.requests,
                progress.new_stories,
            )
        else:
            return
        self._last[progress.name] = now


class LiveProgress(CrawlProgress):
    """A rich live display on the terminal, one row per source."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream)
        self.display: Progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.fields[state]}"),
            TextColumn("requests [cyan]{task.fields[requests]}"),
            TextColumn("new stories [green]{task.fields[new]}"),
            TimeElapsedColumn(),
            console=self.console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._handlers: list[tuple[logging.StreamHandler[Any], IO[str]]] = []

    def added(self, progress: SourceProgress) -> None:
        self._tasks[progress.name] = self.display.add_task(
            progress.name, total=1, start=False, state=progress.state, requests=0, new=0
        )

    def changed(self, progress: SourceProgress, event: str | None = None) -> None:
        task = self._tasks[progress.name]
        if event == "started":
            self.display.start_task(task)
        self.display.update(
            task,
            state=progress.state,
            requests=progress.requests,
            new=progress.new_stories,
            completed=1 if event == "ended" else 0,
        )
        if event == "ended":
            self.display.stop_task(task)

    def start(self) -> None:
        self.display.start()
        # Log lines printed while the display is live go above it instead of through it.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.console.file:
                self._handlers.append((handler, handler.stream))
                handler.setStream(_ConsoleWriter(self.display))

    def stop(self) -> None:
        for handler, stream in self._handlers:
            handler.setStream(stream)
        self._handlers.clear()
        self.display.stop()


class _ConsoleWriter:
    """A file-like object that prints through a live display (keeps log lines readable)."""

    def __init__(self, display: Progress) -> None:
        self.display = display

    def write(self, text: str) -> int:
        line = text.rstrip("\n")
        if line:
            self.display.console.print(line, markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass


def choose(stream: IO[str]) -> CrawlProgress | None:
    """The progress display that fits ``stream`` and ``$DEFWATCH_PROGRESS``."""
    mode = os.environ.get(ENV, "auto").strip().lower()
    if mode == "off":
        return None
    if mode == "live" or (mode == "auto" and _is_terminal(stream)):
        return LiveProgress(stream)
    return LineProgress()


@contextmanager
def crawl_progress(stream: IO[str] | None = None) -> Iterator[CrawlProgress | None]:
    """Show the progress of the crawl run inside the ``with`` block (None: show nothing)."""
    progress = choose(stream if stream is not None else sys.stderr)
    if progress is None:
        yield None
        return
    progress.start()
    try:
        yield progress
    finally:
        progress.stop()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
