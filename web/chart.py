"""Rank over time as an inline SVG (no script, no request): rank 1 at the top, one line per
story of the current list, a point for every list that had it, times in JST."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from core.model import JST

COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 40, 40, 16, 36


def rank_chart(
    history: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]], top: int = 10
) -> Markup:
    """The SVG for the stories of ``current`` (the latest list, first ``top``) over the
    valid snapshots of ``history`` (window_history's shape)."""
    shown = [e for e in current if e["rank"] <= top]
    snaps = [s for s in history if s["valid"]]
    if not shown or not snaps:
        return Markup("")
    times = [s["taken_at"] for s in snaps]
    t0, t1 = times[0], times[-1]
    span = max((t1 - t0).total_seconds(), 1.0)
    deepest = max(
        [
            top,
            *(
                e["rank"]
                for s in snaps
                for e in s["entries"]
                if e["url_key"] in {x["url_key"] for x in shown}
            ),
        ]
    )
    deepest = min(deepest, 50)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * ((at - t0).total_seconds() / span if len(times) > 1 else 0.5)

    def y(rank: int) -> float:
        return TOP + plot_h * ((min(rank, deepest) - 1) / max(deepest - 1, 1))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-size="11" font-family="sans-serif">',
        "<title>順位の推移 (rank over time)</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for rank in sorted({1, *range(5, deepest + 1, 5), deepest}):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(rank):.1f}" y2="{y(rank):.1f}" stroke="#e5e5e5"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y(rank) + 4:.1f}" text-anchor="end">{rank}位</text>')
    ticks = [t0] if len(times) == 1 else [t0 + (t1 - t0) * i / 4 for i in range(5)]
    for at in ticks:
        label = at.astimezone(JST).strftime("%m/%d %H:%M")
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" text-anchor="end">JST</text>')
    for n, entry in enumerate(shown):
        color = COLORS[n % len(COLORS)]
        points = []
        for snap in snaps:
            rank = next((e["rank"] for e in snap["entries"] if e["url_key"] == entry["url_key"]), None)
            if rank is not None:
                points.append((x(snap["taken_at"]), y(rank)))
        if not points:
            continue
        title = escape(f"{entry['rank']}位 {entry['title']}")
        parts.append(f'<g class="series"><title>{title}</title>')
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        last_x, last_y = points[-1]
        parts.append(
            f'<text x="{last_x + 6:.1f}" y="{last_y + 4:.1f}" fill="{color}">#{entry["rank"]}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
