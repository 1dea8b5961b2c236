"""The table printed at the end of ``defwatch crawl``."""

from __future__ import annotations

from typing import IO, Any


def print_crawl_summary(summaries: list[Any], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=None if out.isatty() else 160)
    table = Table(title="crawl", title_justify="left")
    for col in ("source", "outcome", "requests", "new", "revised", "known skipped", "errors", "reason"):
        table.add_column(col)
    for s in summaries:
        c = s.counts
        table.add_row(
            s.source,
            s.outcome,
            str(c.requests),
            str(c.new_stories),
            str(c.revised),
            str(c.known_skipped),
            str(c.errors),
            Text(s.reason or ""),
        )
    console.print(table)
