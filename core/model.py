"""The domain types every layer passes around, defined once.

The enums are ``str``-valued: a member is its stored and printed value ("ok", "24h"), so
rows, JSON outputs and comparisons with plain strings stay what they were.
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["FAILED_OUTCOMES", "JST", "WINDOWS", "Outcome", "Window"]

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
