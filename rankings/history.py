"""``defwatch ranking``: per source, the latest valid list of a window as a terminal table
(each story's change and time listed), then the movements before it; with ``--chart``,
the chart (``rankings.chart``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.config import parse_duration
from core.errors import CommandError
from core.model import JST, Movement
from rankings.chart import draw_chart
from store import Store
from store import rankings as rk

if TYPE_CHECKING:
    from core.config import Config

DEFAULT_SINCE = timedelta(hours=24)
DEFAULT_CHART_SPAN = timedelta(days=7)


def ranking_command(config: Config, window: str, since: str | None, chart: str | None, out: IO[str]) -> int:
    """``defwatch ranking``: per source, the latest valid list of ``window`` with each
    story's change and time listed, then the movements of the ``since`` before it
    (default 24h); with ``chart``, also a PNG of rank over time (default: the last 7 days)."""
    span, label = DEFAULT_SINCE, "24h"
    if since is not None:
        try:
            span, label = timedelta(seconds=parse_duration(since)), since.strip()
        except ValueError:
            raise CommandError(
                f'ranking: --since: "{since}" is not a duration (expected e.g. "24h", "7d")'
            ) from None
        if span <= timedelta(0):
            raise CommandError(f'ranking: --since: "{since}" must be longer than zero')
    store = Store.open(config.store.url, create=False)
    try:
        sources = rk.ranking_sources(store, window)
        if chart is not None:
            written = draw_chart(
                store, sources, window, DEFAULT_CHART_SPAN if since is None else span, Path(chart)
            )
        if not sources:
            print(f"no {window} ranking stored yet: `defwatch crawl` stores the lists", file=out)
        for source in sources:
            render_ranking(store, source, window, span, label, out)
        if chart is not None:
            print(f"chart: {written}", file=out)
    finally:
        store.close()
    return 0


MAX_EVENTS_SHOWN = 200


def render_ranking(store: Store, source: str, window: str, span: timedelta, label: str, out: IO[str]) -> None:
    """The latest valid list as a table (rank, move since the previous list, move since
    ``span`` before, title, time listed), then the movements since ``span`` before it."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=None if out.isatty() else 160)

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    current = rk.current_ranking(store, source, window, ago=span)
    if current is None:
        say(f"{source} · {window}: no valid list yet")
        return
    taken = current["taken_at"]
    say(f"{source} · {window} ranking at {_jst(taken)} JST")
    table = Table(show_edge=True)
    table.add_column("#", justify="right")
    table.add_column("move", justify="right")
    table.add_column(f"vs {label}", justify="right")
    table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=100)
    table.add_column("ranked", justify="right")
    for e in current["entries"]:
        move = ""
        if current["previous_taken_at"]:
            move = _delta(e["rank"], e["previous_rank"], returned=e["movement"] == "returned")
        ago = _delta(e["rank"], e["rank_ago"]) if current["ago_taken_at"] else ""
        listed = ("≥" if e["ranked_since_first"] else "") + _span(taken - e["ranked_since"])
        table.add_row(str(e["rank"]), move, ago, Text(e["title"]), listed)
    console.print(table)
    notes = []
    if current["previous_taken_at"]:
        notes.append(f"move: since the list of {_jst(current['previous_taken_at'])}")
    if current["ago_taken_at"]:
        notes.append(f"vs {label}: since the list of {_jst(current['ago_taken_at'])}")
    else:
        notes.append(f"vs {label}: no list that old yet")
    notes.append("ranked: time on the list (≥: since the first stored list)")
    say("; ".join(notes))
    for bad in current["newer_invalid"]:
        say(f"not used: the list of {_jst(bad['taken_at'])} JST ({bad['reason'] or 'marked invalid'})")
    start = taken - span
    events = rk.recent_events(store, source, window, MAX_EVENTS_SHOWN + 1, since=start)
    title = f"movements since {_jst(start)} JST ({label} before the list)"
    if not events:
        say(f"{title}: none")
        return
    say(title)
    moves = Table()
    moves.add_column("time (JST)")
    moves.add_column("movement")
    moves.add_column("title", no_wrap=True, overflow="ellipsis", max_width=100)
    for ev in events[:MAX_EVENTS_SHOWN]:
        moves.add_row(_jst(ev.at), describe(ev), Text(ev.title))
    console.print(moves)
    if len(events) > MAX_EVENTS_SHOWN:
        say(f"only the newest {MAX_EVENTS_SHOWN} shown: a shorter --since shows fewer")


def describe(movement: Movement) -> str:
    """A movement in a few words: "climbed #5→#4", "left (was #2)", "new #1"."""
    kind, rank, before = movement.kind, movement.rank, movement.previous_rank
    if kind == "entered":
        return f"entered at #{rank}"
    if kind == "returned":
        return f"returned at #{rank}"
    if kind == "left":
        return f"left (was #{before})"
    if kind == "new_1":
        return "new #1" + (f" (was #{before})" if before else "")
    assert rank is not None and before is not None  # climbed or fell: between two ranks
    arrow = "▲" if kind == "climbed" else "▼"
    return f"{kind} #{before}→#{rank} ({arrow}{abs(before - rank)})"


def _delta(rank: int, before: int | None, returned: bool = False) -> str:
    if before is None:
        return "back" if returned else "new"
    if before > rank:
        return f"▲{before - rank}"
    if before < rank:
        return f"▼{rank - before}"
    return "="


def _jst(when: datetime) -> str:
    return when.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d" + (f" {hours}h" if hours else "")
    if hours:
        return f"{hours}h" + (f" {minutes}m" if minutes else "")
    return f"{minutes}m"
