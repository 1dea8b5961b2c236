"""The table printed at the end of ``defwatch crawl``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from core.model import RunResult


def print_crawl_summary(results: Sequence[RunResult], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=None if out.isatty() else 160)
    table = Table(title="crawl", title_justify="left")
    for col in ("source", "outcome", "requests", "new", "revised", "known skipped", "errors", "reason"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.source,
            str(r.outcome),
            str(r.requests),
            str(r.new_stories),
            str(r.revised),
            str(r.known_skipped),
            str(r.errors),
            Text(r.reason or ""),
        )
    console.print(table)
