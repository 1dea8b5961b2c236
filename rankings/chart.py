"""The ranking chart: rank over time (rank 1 at the top) for the stories of a window, one
panel per source, as a PNG (matplotlib, no pyplot)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CommandError
from core.model import JST
from store import rankings as rk

if TYPE_CHECKING:
    from store import Store

WINDOW_LABELS = {"24h": "24時間", "1w": "1週間", "1m": "1ヶ月"}

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
            _time_axis(ax, [s["taken_at"] for s in history], mdates)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="png")
        except OSError as exc:
            raise CommandError(f"ranking --chart: cannot write {path}: {exc.strerror or exc}") from None
    return f"{path} ({drawn} stories, {window})"


def _time_axis(ax: Any, times: Sequence[Any], mdates: Any) -> None:
    """Clock times in JST. Over less than a day (the demo's lists are seconds apart) the
    ticks read hh:mm:ss with the date under the axis, not seconds from an offset."""
    span = (max(times) - min(times)).total_seconds() if times else 0.0
    locator = mdates.AutoDateLocator(tz=JST, minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    if span < 86400:
        fmt = "%H:%M:%S" if span < 600 else "%H:%M"
        ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=JST))
        day = max(times).astimezone(JST).strftime("%Y-%m-%d") if times else ""
        ax.set_xlabel(f"time (JST), {day}")
    else:
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=JST, show_offset=False))
        ax.set_xlabel("date and time (JST)")


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
