"""``defwatch status``: per source its last run and next run, the outbox, the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from scheduler.config import Config
from scheduler.cron import cron_trigger

JST = ZoneInfo("Asia/Tokyo")


def collect_status(config: Config, store: Any, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    last = store.last_runs()
    sources = []
    for src in config.sources:
        run = last.get(src.name)
        trigger = cron_trigger(src.schedule, src.tz)
        next_run = trigger.get_next_fire_time(None, now.astimezone(src.tz)) if src.enabled else None
        entry: dict[str, Any] = {
            "name": src.name,
            "kind": src.kind,
            "enabled": src.enabled,
            "schedule": src.schedule,
            "next_run": next_run.astimezone(src.tz).isoformat() if next_run else None,
            "last_run": None,
        }
        if run:
            duration = (run["finished"] - run["started"]).total_seconds() if run["finished"] else None
            entry["last_run"] = {
                "started": run["started"].astimezone(src.tz).isoformat(),
                "finished": run["finished"].astimezone(src.tz).isoformat() if run["finished"] else None,
                "duration_s": round(duration, 3) if duration is not None else None,
                "outcome": run["outcome"],
                "new_stories": run["new_stories"],
                "revised": run["revised"],
                "requests": run["requests"],
                "known_skipped": run["known_skipped"],
                "errors": run["errors"],
                "reason": run["reason"],
                "stats": run["stats"],
            }
        sources.append(entry)
    url = make_url(config.store.url)
    return {
        "config": config.path,
        "sources": sources,
        "alerts": store.delivery_counts(),
        "store": {
            "url": url.render_as_string(hide_password=True),
            "stories": store.count_stories(),
            "size_bytes": store.size_bytes(),
        },
    }


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def render_status(report: dict[str, Any], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=None if out.isatty() else 160)
    table = Table(title="defwatch sources", title_justify="left")
    for col in (
        "source",
        "kind",
        "last run (JST)",
        "outcome",
        "new",
        "requests",
        "errors",
        "duration",
        "next run (JST)",
    ):
        table.add_column(col)
    reasons = []
    for s in report["sources"]:
        run = s["last_run"]
        if run is None:
            table.add_row(s["name"], s["kind"], "never", "-", "-", "-", "-", "-", _when(s["next_run"]))
            continue
        dur = f"{run['duration_s']:.1f}s" if run["duration_s"] is not None else "-"
        table.add_row(
            s["name"],
            s["kind"],
            _when(run["started"]),
            run["outcome"],
            str(run["new_stories"]),
            str(run["requests"]),
            str(run["errors"]),
            dur,
            _when(s["next_run"]) if s["enabled"] else "disabled",
        )
        if run["reason"]:
            reasons.append(f"{s['name']}: {run['reason']}")
    console.print(table)
    for line in reasons:
        console.print(f"  {line}", markup=False, highlight=False)
    a = report["alerts"]
    console.print(f"alerts: {a['pending']} pending, {a['failed']} failed, {a['sent']} sent", highlight=False)
    st = report["store"]
    size = f", {st['size_bytes'] / 1024:.0f} KiB" if st["size_bytes"] is not None else ""
    console.print(f"store: {st['url']} ({st['stories']} stories{size})", markup=False, highlight=False)
