"""``defwatch status``: per source its last run and next run, the outbox, the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.engine import make_url

from core.config import Config
from core.cron import cron_trigger
from core.model import JST


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
            assert run.started is not None  # a recorded run has started
            entry["last_run"] = {
                "started": run.started.astimezone(src.tz).isoformat(),
                "finished": run.finished.astimezone(src.tz).isoformat() if run.finished else None,
                "duration_s": round(run.seconds, 3) if run.finished else None,
                "outcome": str(run.outcome),
                "new_stories": run.new_stories,
                "revised": run.revised,
                "requests": run.requests,
                "known_skipped": run.known_skipped,
                "errors": run.errors,
                "reason": run.reason,
                "stats": dict(run.stats),
            }
            # Routes the site answers with a bot challenge (crawler.spiders.mod): a known
            # limit of reading the site, shown here rather than degrading every run.
            entry["limits"] = sorted(
                k.split(":", 1)[1] for k in run.stats if k.startswith("challenged_route:")
            )
        sources.append(entry)
    url = make_url(config.store.url)
    return {
        "config": config.path,
        "daemon": _daemon(config),
        "sources": sources,
        "alerts": store.delivery_counts(),
        "deliveries": _deliveries(store, now),
        "store": {
            "url": url.render_as_string(hide_password=True),
            "stories": store.count_stories(),
            "size_bytes": store.size_bytes(),
        },
    }


def _daemon(config: Config) -> dict[str, Any]:
    """Whether ``defwatch run`` (or a ``run --once``) holds the store's lock right now."""
    from scheduler.lock import is_held, lock_path

    return {"running": is_held(config.store.url), "lock": str(lock_path(config.store.url))}


def _deliveries(store: Any, now: datetime, failed_limit: int = 10) -> dict[str, Any]:
    """Deliveries per channel and status, the channels paused (failing as a whole: their
    deliveries wait) with why and until when, and the latest deliveries given up, with why."""
    from store import outbox

    with store.engine.connect() as conn:
        by_channel = outbox.counts_by_channel(conn)
        failed = outbox.failed_deliveries(conn, limit=failed_limit)
        paused = outbox.paused_channels(conn, now)
    return {
        "by_channel": by_channel,
        "paused": {
            p.channel: {
                "until": p.until.astimezone(JST).isoformat(),
                "reason": p.reason,
                "waiting": p.waiting,
            }
            for p in paused
        },
        "failed": [
            {
                "id": d.id,
                "rule": d.rule,
                "channel": d.channel,
                "kind": d.kind,
                "attempts": d.attempts,
                "created": d.created.astimezone(JST).isoformat(),
                "title": (d.payload.get("story") or {}).get("title") or d.payload.get("title"),
                "last_error": d.last_error,
            }
            for d in failed
        ],
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
        next_run = _when(s["next_run"]) if s["enabled"] else "disabled"
        if run is None:
            table.add_row(s["name"], s["kind"], "never", "-", "-", "-", "-", "-", next_run)
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
            next_run,
        )
        if run["reason"]:
            reasons.append(f"{s['name']}: {run['reason']}")
        for route in s.get("limits") or []:
            reasons.append(f"{s['name']}: known limit: {route} answers a bot challenge (kept from the feeds)")
        node = (run.get("stats") or {}).get("node")
        if node:  # crawled on a Scrapyd node ([crawl] scrapyd)
            reasons.append(f"{s['name']}: crawled on {node} (job {run['stats'].get('scrapyd_job', '?')})")
    console.print(table)
    for line in reasons:
        console.print(f"  {line}", markup=False, highlight=False)
    daemon = report["daemon"]
    state = {True: "running", False: "not running", None: "unknown"}[daemon["running"]]
    console.print(f"daemon: {state} (lock {daemon['lock']})", markup=False, highlight=False)
    a = report["alerts"]
    console.print(f"alerts: {a['pending']} pending, {a['failed']} failed, {a['sent']} sent", highlight=False)
    for channel, n in sorted(report["deliveries"]["by_channel"].items()):
        line = f"  {channel}: {n['pending']} pending, {n['failed']} failed, {n['sent']} sent"
        console.print(line, markup=False, highlight=False)
        pause = report["deliveries"]["paused"].get(channel)
        if pause:
            waiting = pause["waiting"]
            line = (
                f"    paused until {_when(pause['until'])} JST ({waiting} deliver{'y' if waiting == 1 else 'ies'}"
                f" waiting): {pause['reason']}"
            )
            console.print(line, markup=False, highlight=False)
    for d in report["deliveries"]["failed"]:
        what = d["title"] or d["kind"]
        line = f"  failed: {d['channel']} / {d['rule']}: {what} ({d['attempts']} attempts): {d['last_error']}"
        console.print(line, markup=False, highlight=False)
    st = report["store"]
    size = f", {st['size_bytes'] / 1024:.0f} KiB" if st["size_bytes"] is not None else ""
    console.print(f"store: {st['url']} ({st['stories']} stories{size})", markup=False, highlight=False)
