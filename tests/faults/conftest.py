"""The fault matrix: each case records the figure it measured (``figure(case, text)``), and
the figures are printed as one table at the end of the run (docs/operations.md carries it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIGURES: dict[str, str] = {}


def figure(case: str, text: str) -> None:
    FIGURES[case] = text


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "fault matrix: the figure each case measured")
        for case, text in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{case:<44} {text}")


def feed_config(
    feed_url: str,
    *,
    store: str | Path = "sqlite:///defwatch.db",
    alerts: str | Path = "alerts.jsonl",
    source: str = "full",
    crawl: str = "",
    source_extra: str = "",
) -> str:
    """The configuration most fault cases run: one feed source, every story alerted to a
    JSON-lines file, private addresses allowed (the sites are on 127.0.0.1), no autothrottle,
    a crawl timeout a machine at load 40 still meets. ``store`` is a URL, or a SQLite file's
    path; ``crawl`` and ``source_extra`` are extra lines of those tables."""
    url = f"sqlite:///{store}" if isinstance(store, Path) else store
    return f"""
[store]
url = "{url}"

[crawl]
allow_private = true
autothrottle = false
timeout = "60s"
{crawl}

[channels.log]
type = "file"
path = "{alerts}"

[[rules]]
name = "everything"
regex = "."
notify = ["log"]

[[sources]]
name = "{source}"
kind = "feed"
url = "{feed_url}"
{source_extra}
"""
