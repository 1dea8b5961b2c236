"""The domain types every layer passes around, defined once.

The enums are ``str``-valued: a member is its stored and printed value ("ok", "24h"), so
rows, JSON outputs and comparisons with plain strings stay what they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "FAILED_OUTCOMES",
    "JST",
    "WINDOWS",
    "Movement",
    "Outcome",
    "RankingEntry",
    "RankingSnapshot",
    "RunResult",
    "Story",
    "Window",
]

# Japan Standard Time: the time the sources publish in and the edges (outputs) speak.
JST = ZoneInfo("Asia/Tokyo")


class Outcome(StrEnum):
    """How a crawl run ended (``crawl_runs.outcome``). ``running`` is a run not finished."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    RUNNING = "running"


# Runs that did not do their job: ``defwatch crawl`` and ``run --once`` exit 1 on one.
FAILED_OUTCOMES = (Outcome.FAILED, Outcome.TIMEOUT, Outcome.INTERRUPTED)


class Window(StrEnum):
    """A "most read" list's time window."""

    DAY = "24h"
    WEEK = "1w"
    MONTH = "1m"


WINDOWS: tuple[str, ...] = tuple(w.value for w in Window)  # plain strings, for argparse and tables


@dataclass(frozen=True)
class RunResult:
    """One run of a source's crawl (a ``crawl_runs`` row): how it ended, what it counted,
    why. The spider makes one when it closes and the store records it; the crawl commands,
    the daemon and ``defwatch status`` read it back from the store (:meth:`from_row`)."""

    source: str
    outcome: Outcome
    run_id: int | None = None  # None: no run was recorded (the daemon was stopping)
    requests: int = 0
    new_stories: int = 0
    revised: int = 0
    known_skipped: int = 0
    errors: int = 0
    reason: str | None = None
    # Per-reason counters and where it ran (``crawl_runs.stats``).
    stats: Mapping[str, Any] = field(default_factory=dict)
    started: datetime | None = None
    finished: datetime | None = None

    @property
    def seconds(self) -> float:
        """How long the recorded run took (0 when it has not both times)."""
        if self.started is None or self.finished is None:
            return 0.0
        return (self.finished - self.started).total_seconds()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunResult:
        """A ``crawl_runs`` row (counters not yet written are NULL: 0 here)."""
        return cls(
            source=row["source"],
            outcome=Outcome(row["outcome"]),
            run_id=row["id"],
            requests=row["requests"] or 0,
            new_stories=row["new_stories"] or 0,
            revised=row["revised"] or 0,
            known_skipped=row["known_skipped"] or 0,
            errors=row["errors"] or 0,
            reason=row["reason"],
            stats=row["stats"] or {},
            started=row["started"],
            finished=row["finished"],
        )


@dataclass(frozen=True)
class RankingEntry:
    """One line of a "most read" list."""

    rank: int
    url: str
    title: str


@dataclass(frozen=True)
class RankingSnapshot:
    """One "most read" list as read, on its way to the store (``ranking_snapshots``)."""

    source: str
    window: str  # a Window's value
    entries: tuple[RankingEntry, ...]  # in rank order
    taken_at: datetime | None = None  # None: when it is stored
    # False: the spider already knows the list is broken (a challenge page), ``reason`` says why.
    valid: bool = True
    reason: str | None = None
    run_id: int | None = None  # the crawl run that read it

    @classmethod
    def of(
        cls, source: str, window: str, entries: Iterable[Mapping[str, Any]], **rest: Any
    ) -> RankingSnapshot:
        """A list whose entries are given as ``{rank, url, title}`` (as spiders yield them)."""
        listed = tuple(RankingEntry(int(e["rank"]), e["url"], e["title"]) for e in entries)
        return cls(source, window, listed, **rest)


@dataclass(frozen=True)
class Movement:
    """One story's change between two consecutive valid "most read" lists of a window, as
    stored (``ranking_events``): what the alert outbox, ranking rules, the feeds, the web
    page and ``defwatch ranking`` are given."""

    id: int
    source: str
    window: str  # a Window's value
    kind: str  # entered | left | climbed | fell | new_1 | returned
    rank: int | None  # None: it left
    previous_rank: int | None  # None: it was not on the previous list
    url: str
    title: str
    at: datetime  # when the list that shows it was taken (aware)


@dataclass(frozen=True)
class Story:
    """A stored story (a ``stories`` row) as the store hands it to the stages: what rules
    match, what an alert shows and a feed entry is made of. (It goes to the store as a
    ``store.StoryIn``.)"""

    id: int
    url: str  # canonical (store.urls)
    source: str
    title: str
    published: datetime | None = None
    summary: str = ""
    body: str = ""
    kind: str = "article"  # article | pdf | item
    section: str | None = None
    link: str | None = None  # as the site gave it, when not ``url``
    url_key: str = ""
    # NFKC, folded title, summary and body, as stored (None: worked out where it is needed).
    text_norm: str | None = None
    content_hash: str = ""
    complete: bool = True  # False: only what a listing said (title, date)
    fetched: datetime | None = None
    updated: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Story:
        """A ``stories`` row, whole or some of its columns (the rest take their defaults)."""
        return cls(**{name: row[name] for name in _STORY_FIELDS if name in row})


_STORY_FIELDS = tuple(f.name for f in fields(Story))
