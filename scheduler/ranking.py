"""Reading the "most read" lists over time: the movements between consecutive valid
snapshots of a window (found in the snapshot hook, recomputable from the snapshots), the
matching of ranking rules, and ``defwatch ranking`` (a terminal table and a chart).

The SQL is in ``store.rankings``; this module decides what a movement and a broken list are.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import unicodedata
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crawler.text import normalize
from scheduler.errors import CommandError
from store import rankings as rk

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from scheduler.config import Config, RuleConfig
    from store import Store

JST = ZoneInfo("Asia/Tokyo")
WINDOW_LABELS = {"24h": "24時間", "1w": "1週間", "1m": "1ヶ月"}

# A list that keeps fewer than this share of the last valid list's entries is a broken
# page (half-loaded, an error block), not a change in what readers read.
MIN_KEPT = 0.5
_OWN_REASON = re.compile(r"^(empty list|\d+ entr(y|ies) where the last valid list had \d+)$")


# -- movements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One story's change between two consecutive valid lists of a window."""

    kind: str  # entered | left | climbed | fell | new_1 | returned
    url_key: str
    url: str
    title: str
    rank: int | None  # None: it left
    previous_rank: int | None  # None: it was not on the previous list


def _by_key(listed: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Entries by story, best rank first; a story listed twice counts once, at its best."""
    out: dict[str, Mapping[str, Any]] = {}
    for e in sorted(listed, key=lambda e: e["rank"]):
        out.setdefault(e["url_key"], e)
    return out


def invalid_reason(
    listed: Sequence[Mapping[str, Any]], last_valid: Sequence[Mapping[str, Any]] | None
) -> str | None:
    """Why a list cannot be trusted (None: it can): it is empty, or it kept fewer than half
    the entries of the last valid list of its window."""
    if not listed:
        return "empty list"
    have = len(_by_key(listed))
    had = len(_by_key(last_valid)) if last_valid else 0
    if have < had * MIN_KEPT:
        return f"{have} {'entry' if have == 1 else 'entries'} where the last valid list had {had}"
    return None


def movements(
    previous: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    listed_before: Container[str],
) -> list[Movement]:
    """What changed from ``previous`` to ``current`` (both valid lists of one window), in
    reading order: a new #1, then the list top to bottom, then what left.
    ``listed_before`` holds the stories that were on an earlier valid list: one of them
    coming back is ``returned``, not ``entered``. A new #1 also has its own movement
    (entered, returned or climbed)."""
    prev, cur = _by_key(previous), _by_key(current)
    out: list[Movement] = []
    if prev and cur:
        top, prev_top = next(iter(cur.values())), next(iter(prev.values()))
        if top["url_key"] != prev_top["url_key"]:
            was = prev.get(top["url_key"])
            out.append(_move("new_1", top, top["rank"], was["rank"] if was else None))
    for key, e in cur.items():
        p = prev.get(key)
        if p is None:
            out.append(_move("returned" if key in listed_before else "entered", e, e["rank"], None))
        elif e["rank"] != p["rank"]:
            out.append(_move("climbed" if e["rank"] < p["rank"] else "fell", e, e["rank"], p["rank"]))
    for key, p in prev.items():
        if key not in cur:
            out.append(_move("left", p, None, p["rank"]))
    return out


def _move(kind: str, e: Mapping[str, Any], rank: int | None, previous_rank: int | None) -> Movement:
    return Movement(kind, e["url_key"], e["url"], e["title"], rank, previous_rank)


# -- keeping movements: the snapshot hook and recomputing ------------------------------------


def record_movements(conn: Connection, snapshot_id: int) -> list[dict[str, Any]]:
    """Decide whether a just-stored snapshot is valid and store its movements against the
    last valid snapshot of its window; return the new movements (recent_events' shape).

    A snapshot that arrives after a later one of its window (a backfill) changes what
    that later one is compared with: the window is recomputed instead."""
    snap = rk.snapshot(conn, snapshot_id)
    if snap is None:
        return []
    if rk.has_later_snapshot(conn, snap):
        return _recompute(conn, snap["source"], snap["window"])
    if not snap["valid"]:  # the spider already knew the list was broken
        return []
    listed = rk.entries(conn, snapshot_id)
    last = rk.last_valid_before(conn, snap)
    last_listed = rk.entries(conn, last["id"]) if last else None
    reason = invalid_reason(listed, last_listed)
    if reason is not None:
        rk.set_validity(conn, snapshot_id, False, reason)
        return []
    if last is None or last_listed is None:  # the first list of a window is the baseline
        return []
    known = {e["url_key"] for e in last_listed}
    before = rk.listed_before(conn, snap, (e["url_key"] for e in listed if e["url_key"] not in known))
    found = movements(last_listed, listed, before)
    return rk.insert_events(conn, [_event_row(snap, last["id"], m) for m in found])


def recompute_events(store: Store, source: str, window: str) -> list[dict[str, Any]]:
    """Rebuild a window's validity decisions and movements from its stored snapshots.
    Movements that stay the same keep their ids; returns the movements that are new."""
    with store.transaction() as conn:
        return _recompute(conn, source, window)


def _recompute(conn: Connection, source: str, window: str) -> list[dict[str, Any]]:
    wanted: dict[tuple[int, str, str], dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    seen: set[str] = set()
    for snap in rk.window_snapshots(conn, source, window):
        if not snap["valid"] and not _OWN_REASON.match(snap["reason"] or ""):
            continue  # the spider's own verdict stands
        listed = snap["entries"]
        reason = invalid_reason(listed, last["entries"] if last else None)
        if reason is not None:
            if snap["valid"] or snap["reason"] != reason:
                rk.set_validity(conn, snap["id"], False, reason)
            continue
        if not snap["valid"]:
            rk.set_validity(conn, snap["id"], True, None)
        if last is not None:
            for m in movements(last["entries"], listed, seen):
                wanted[(snap["id"], m.kind, m.url_key)] = _event_row(snap, last["id"], m)
        seen.update(e["url_key"] for e in listed)
        last = snap
    stale, kept = [], set()
    for ev in rk.window_events(conn, source, window):
        key = (ev["snapshot_id"], ev["kind"], ev["url_key"])
        want = wanted.get(key)
        if want is None or any(want[k] != ev[k] for k in want):
            stale.append(ev["id"])
        else:
            kept.add(key)
    rk.delete_events(conn, stale)
    return rk.insert_events(conn, [row for key, row in wanted.items() if key not in kept])


def _event_row(snap: Mapping[str, Any], previous_id: int, m: Movement) -> dict[str, Any]:
    return {
        "snapshot_id": snap["id"],
        "previous_snapshot_id": previous_id,
        "source": snap["source"],
        "window": snap["window"],
        "at": snap["taken_at"],
        "kind": m.kind,
        "url_key": m.url_key,
        "url": m.url,
        "title": m.title,
        "rank": m.rank,
        "previous_rank": m.previous_rank,
    }


def movements_hook(config: Config) -> Callable[[Connection, int], None]:
    """The snapshot hook: store the movements, and hand each new one to the alert outbox
    (``alerts.outbox.enqueue_ranking_event``) when the alerts package provides it."""

    def hook(conn: Connection, snapshot_id: int) -> None:
        events = record_movements(conn, snapshot_id)
        enqueue = _outbox_enqueue() if events else None
        if enqueue is not None:
            for event in events:
                enqueue(conn, config, event)

    return hook


def _outbox_enqueue() -> Callable[[Connection, Config, dict[str, Any]], object] | None:
    try:
        outbox = importlib.import_module("alerts.outbox")
    except ModuleNotFoundError as exc:
        if exc.name in ("alerts", "alerts.outbox"):
            return None  # not built yet; anything else missing is a real error
        raise
    return getattr(outbox, "enqueue_ranking_event", None)


# -- ranking rules ---------------------------------------------------------------------------

_LIST_ENTRIES = ("entered", "returned")  # a story coming onto the list
_CROSSINGS = ("entered", "returned", "climbed")  # a story coming into the top max_rank


def ranking_rule_matches(rule: RuleConfig, event: Mapping[str, Any]) -> list[str] | None:
    """Whether a ranking rule fires on a movement: None when not; else the matched
    keywords (as configured), plus the regex's matched text, empty for a rule without
    either.

    A rule fires when a story comes *into* the part of the list it watches: with
    ``max_rank = N``, an entered, returned or climbed story now at rank N or better that
    was not there before (a move within the top N does not fire again); without
    ``max_rank``, a story entering or returning to the list. ``new_1`` never fires by
    itself (the same story's entered/returned/climbed movement does), nor do ``fell``
    and ``left``. Also checked: ``on`` includes "ranking", ``windows``, ``sources``, and
    keywords, regex and exclude on the title only (NFKC, case-folded, like story rules).
    """
    if "ranking" not in rule.on or event["window"] not in rule.windows:
        return None
    if rule.sources and event["source"] not in rule.sources:
        return None
    if not _comes_into_view(event, rule.max_rank):
        return None
    title = normalize(event["title"] or "")
    if any(normalize(x) in title for x in rule.exclude if normalize(x)):
        return None
    matched = [k for k in rule.keywords if normalize(k) and normalize(k) in title]
    if rule.regex is not None:
        found = re.search(rule.regex, unicodedata.normalize("NFKC", event["title"] or ""), re.IGNORECASE)
        if found:
            matched.append(found.group(0))
    if (rule.keywords or rule.regex is not None) and not matched:
        return None
    return matched


def _comes_into_view(event: Mapping[str, Any], max_rank: int | None) -> bool:
    if max_rank is None:
        return event["kind"] in _LIST_ENTRIES
    rank, before = event["rank"], event["previous_rank"]
    if event["kind"] not in _CROSSINGS or rank is None or rank > max_rank:
        return False
    return before is None or before > max_rank


# -- defwatch ranking ------------------------------------------------------------------------

DEFAULT_SINCE = timedelta(hours=24)
DEFAULT_CHART_SPAN = timedelta(days=7)


def ranking_command(config: Config, window: str, since: str | None, chart: str | None, out: IO[str]) -> int:
    """``defwatch ranking``: per source, the latest valid list of ``window`` with each
    story's change and time listed, then the movements of the ``since`` before it
    (default 24h); with ``chart``, also a PNG of rank over time (default: the last 7 days)."""
    from scheduler.config import parse_duration
    from store import Store

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
        moves.add_row(_jst(ev["at"]), describe(ev), Text(ev["title"]))
    console.print(moves)
    if len(events) > MAX_EVENTS_SHOWN:
        say(f"only the newest {MAX_EVENTS_SHOWN} shown: a shorter --since shows fewer")


def describe(event: Mapping[str, Any]) -> str:
    """A movement in a few words: "climbed #5→#4", "left (was #2)", "new #1"."""
    kind, rank, before = event["kind"], event["rank"], event["previous_rank"]
    if kind == "entered":
        return f"entered at #{rank}"
    if kind == "returned":
        return f"returned at #{rank}"
    if kind == "left":
        return f"left (was #{before})"
    if kind == "new_1":
        return "new #1" + (f" (was #{before})" if before else "")
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


# -- the chart -------------------------------------------------------------------------------

# Families that can write Japanese, tried in order; matplotlib-fontja brings the first.
CJK_FAMILIES = (
    "IPAexGothic",
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "IPAGothic",
    "TakaoGothic",
    "VL Gothic",
    "Hiragino Sans",
    "Yu Gothic",
)
MAX_LINES = 20  # stories drawn; beyond this a chart is a tangle


def cjk_font(families: Sequence[str] = CJK_FAMILIES) -> str:
    """The font family the chart writes titles with; a one-line CommandError when no font
    that can write Japanese is installed."""
    with contextlib.suppress(ImportError):
        import matplotlib_fontja  # noqa: F401  (registers IPAex Gothic with matplotlib)
    from matplotlib import font_manager

    for family in families:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return family
    raise CommandError(
        "ranking --chart: no font that can write Japanese titles is installed "
        "(pip install matplotlib-fontja, or install Noto Sans CJK JP)"
    )


def draw_chart(store: Store, sources: Sequence[str], window: str, span: timedelta, path: Path) -> str:
    """Draw rank over time (rank 1 at the top) for the stories listed in ``window`` during
    the ``span`` before the latest list, one panel per source, to a PNG at ``path``.
    Lists found invalid are marked as dotted vertical lines. Returns a summary line."""
    font = cjk_font()
    panels = []
    for source in sources:
        latest = rk.latest_taken_at(store, source, window)
        if latest is not None:
            panels.append((source, rk.window_history(store, source, window, since=latest - span)))
    if not any(s["valid"] for _, history in panels for s in history):
        raise CommandError(f"ranking --chart: no valid {window} ranking stored yet, nothing to draw")

    from matplotlib import dates as mdates
    from matplotlib import rc_context
    from matplotlib.figure import Figure  # no pyplot: no global figure state, Agg canvas

    drawn = 0
    with rc_context({"font.family": font, "axes.unicode_minus": False}):
        fig = Figure(figsize=(12, 1.5 + 4.5 * len(panels)), dpi=100, layout="constrained")
        for ax, (source, history) in zip(
            fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels, strict=True
        ):
            drawn += _draw_panel(ax, source, window, history)
            locator = mdates.AutoDateLocator(tz=JST)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=JST))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="png")
        except OSError as exc:
            raise CommandError(f"ranking --chart: cannot write {path}: {exc.strerror or exc}") from None
    return f"{path} ({drawn} stories, {window})"


def _draw_panel(ax: Any, source: str, window: str, history: Sequence[Mapping[str, Any]]) -> int:
    valid = [s for s in history if s["valid"]]
    times = [s["taken_at"] for s in valid]
    ranks: dict[str, list[float]] = {}
    titles: dict[str, str] = {}
    for i, snap in enumerate(valid):
        for e in snap["entries"]:
            line = ranks.setdefault(e["url_key"], [float("nan")] * len(valid))
            if line[i] != line[i]:  # NaN: keep a story's best rank if listed twice
                line[i] = e["rank"]
            titles[e["url_key"]] = e["title"]
    # The latest list first, in its order; then the others by their best rank.
    current = [e["url_key"] for e in valid[-1]["entries"]] if valid else []
    others = sorted(set(ranks) - set(current), key=lambda k: min(r for r in ranks[k] if r == r))
    shown = list(dict.fromkeys(current + others))[:MAX_LINES]
    colors = _colors(len(shown))
    now_ranked: dict[str, int] = {}
    for e in valid[-1]["entries"] if valid else []:
        now_ranked.setdefault(e["url_key"], e["rank"])
    for key, color in zip(shown, colors, strict=True):
        label = titles[key] if len(titles[key]) <= 32 else titles[key][:31] + "…"
        label = f"{now_ranked[key]}. {label}" if key in now_ranked else f"–  {label}"
        ax.plot(times, ranks[key], marker="o", markersize=4, linewidth=1.8, color=color, label=label)
    for s in history:
        if not s["valid"]:
            ax.axvline(s["taken_at"], color="0.55", linestyle=":", linewidth=1.2)
    if any(not s["valid"] for s in history):
        ax.plot([], [], color="0.55", linestyle=":", label="無効なリスト (not used)")
    deepest = max((int(r) for k in shown for r in ranks[k] if r == r), default=1)
    ax.set_ylim(deepest + 0.5, 0.5)  # rank 1 at the top
    ax.set_yticks(range(1, deepest + 1))
    ax.set_ylabel("順位 (rank)")
    ax.grid(True, axis="y", color="0.9")
    more = len(ranks) - len(shown)
    ax.set_title(
        f"{source} · {WINDOW_LABELS.get(window, window)}ランキング ({window}): rank over time (JST)"
        + (f" · {more} more not drawn" if more > 0 else ""),
        loc="left",
    )
    if shown or more:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return len(shown)


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    # tab20 pairs a strong and a pale shade of each hue: all strong ones first.
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [colormaps["tab20"](order[i % 20]) for i in range(n)]
