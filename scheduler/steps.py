"""The steps after a crawl, from the packages that do them: alert delivery and feed builds
(the daemon and ``run --once`` call these)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.config import Config
from core.model import Outcome, RunResult

if TYPE_CHECKING:
    from store import Store

log = logging.getLogger("scheduler.daemon")


def deliver_alerts(config: Config, store: Store) -> Any:
    """One cycle's deliveries: operations alerts, then everything due, waiting out a short
    Retry-After (alerts.loop.deliver_once)."""
    if not config.channels and not _anything_pending(store):
        # No channel to queue for, nothing left queued for a channel since removed: the
        # alert stage is not even imported (about 15 ms of an unchanged cycle).
        return None
    from alerts.loop import deliver_once, log_report

    try:
        report = deliver_once(config, store)
    except Exception as exc:  # a broken channel must not stop the crawls
        log.error("alerts: %s: %s", type(exc).__name__, exc)
        return None
    log_report(report)
    return report


def _anything_pending(store: Store) -> bool:
    from store.outbox import next_due

    with store.engine.connect() as conn:
        return next_due(conn) is not None


def close_stale_runs(store: Store) -> None:
    """Every run still ``running``, recorded ``interrupted``: only with the store's lock
    held (which every crawl holds while it runs), when none of them can be alive."""
    why = "the crawl ended without recording its run (its process was killed or crashed)"
    for run in store.unfinished_runs():
        store.finish_run(RunResult(run.source, Outcome.INTERRUPTED, run.run_id, reason=why))
        log.warning("crawl %s: run %d left running since %s: %s", run.source, run.run_id, run.started, why)


def start_delivery_loop(config: Config, store: Store) -> Any:
    """The daemon's delivery job, a thread apart from the crawls (alerts.loop.DeliveryLoop)."""
    from alerts.loop import DeliveryLoop

    return DeliveryLoop(config, store).start()


def check_alert_channels(config: Config) -> None:
    """Build every channel once (alerts.command.check_channels): CommandError on a mistake."""
    if not config.channels:
        return  # nothing to build: the alert stage is not imported
    from alerts.command import check_channels

    check_channels(config)


def stop_deliveries(stop: bool = True) -> None:
    """Cut delivery attempts in flight (SIGTERM): they stay due for the next start. With
    ``stop=False``: the stop is over."""
    from alerts.channels.deadline import STOPPING

    if stop:
        STOPPING.set()
    else:
        STOPPING.clear()


def build_feeds(config: Config, store: Store, since: datetime | None, due: bool = False) -> Any:
    """Rebuild the feeds changed at or after ``since`` (all of them when None); with ``due``,
    those changed since the last such build, as recorded beside the feeds (feeds.build.build_due)."""
    from feeds.build import build_all, build_changed, build_due

    try:
        if due:
            report = build_due(config, store)
        else:
            report = build_all(config, store) if since is None else build_changed(config, store, since)
    except Exception as exc:
        log.error("feeds: %s: %s", type(exc).__name__, exc)
        return None
    return report
