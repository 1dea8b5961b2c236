"""The table printed at the end of ``defwatch crawl``."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from core.model import RunResult


def print_crawl_summary(results: Sequence[RunResult], out: IO[str]) -> None:
    if discarded(out):  # a crawl child of `run` (rendering the table: 0.1 CPU-s at 50 sources)
        return
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


def discarded(out: IO[str]) -> bool:
    """Whether ``out`` writes to the null device, where a table would go unread."""
    try:
        st, null = os.fstat(out.fileno()), os.stat(os.devnull)
    except (OSError, ValueError, AttributeError):  # closed, or not a file (a StringIO in a test)
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev
