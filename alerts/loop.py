"""Delivery apart from crawls.

``DeliveryLoop`` is the daemon's delivery job: a thread of its own that delivers what is due,
then sleeps until the earliest pending delivery is due (a retry, a paused channel's end) or a
crawl wakes it, at most ``idle`` seconds. A crawl never waits for a receiver, and a delivery
never waits for a crawl or a feed build. On stop, attempts in flight are cut at once (the
deliveries stay due) and the thread ends.

``deliver_once`` is ``run --once``: one pass that sends everything due
within its time budget, then, when a receiver asked to wait (Retry-After, a paused channel)
no longer than ``[alerts] once_wait``, waits for it and goes on, so that a cron run does not
exit with deliveries it could have made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from alerts.channels.deadline import STOPPING
from alerts.dispatcher import DispatchReport
from store import outbox as db

if TYPE_CHECKING:
    from core.config import Config
    from store import Store

__all__ = ["DeliveryLoop", "deliver_once", "log_report"]

log = logging.getLogger(__name__)

PASS_BUDGET = 30.0  # seconds of one daemon pass; the loop goes on at once when some are left
ONCE_BUDGET = 600.0  # seconds run --once and `defwatch alerts` may spend delivering
IDLE = 60.0  # the daemon looks at the outbox at least this often
STUCK_PAUSE = 5.0  # after a pass that could do nothing with what is due


def _now() -> datetime:
    return datetime.now(UTC)


def seconds_to_next_due(store: Store, now: datetime) -> float | None:
    """Seconds until the earliest pending delivery is due (0 when overdue); None: none."""
    with store.engine.connect() as conn:
        when = db.next_due(conn)
    return None if when is None else max(0.0, (when - now).total_seconds())


def log_report(report: DispatchReport | None) -> None:
    if report is None:
        return
    if report.sent or report.retrying or report.failed:
        log.info("alerts: %d sent, %d to retry, %d given up", report.sent, report.retrying, report.failed)
    for error in report.errors:
        log.warning("alerts: %s", error)


def _pass(config: Config, store: Store, budget: float) -> DispatchReport:
    from alerts.command import deliver

    return deliver(config, store, time_budget=budget)


def deliver_once(
    config: Config,
    store: Store,
    budget: float = ONCE_BUDGET,
    deliver: Callable[[Config, Store, float], DispatchReport] = _pass,
) -> DispatchReport:
    """Deliver everything due, waiting out retries due within ``[alerts] once_wait``."""
    limit = time.monotonic() + budget
    total = DispatchReport()
    while not STOPPING.is_set():
        left = limit - time.monotonic()
        if left <= 0:
            break
        report = deliver(config, store, left)
        total.add(report)
        wait = seconds_to_next_due(store, _now())
        if wait is None or wait > config.alerts.once_wait or wait > limit - time.monotonic():
            break
        if report.sent == 0 and report.retrying == 0 and report.failed == 0 and wait <= 0:
            break  # due, yet nothing could be done with it (another dispatcher holds it)
        if STOPPING.wait(wait):
            break
    return total


class DeliveryLoop:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        budget: float = PASS_BUDGET,
        idle: float = IDLE,
        deliver: Callable[[Config, Store, float], DispatchReport] = _pass,
    ) -> None:
        self.config = config
        self.store = store
        self.budget = budget
        self.idle = idle
        self._deliver = deliver
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-loop", daemon=True)

    def start(self) -> DeliveryLoop:
        STOPPING.clear()
        self._thread.start()
        return self

    def wake(self) -> None:
        """Something may have been queued (a crawl ended): look now."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Cut attempts in flight and end the thread; True when it ended within ``timeout``."""
        self._stop.set()
        STOPPING.set()
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            unfinished = idle_pass = False
            try:
                report = self._deliver(self.config, self.store, self.budget)
                log_report(report)
                unfinished = report.unfinished
                idle_pass = not (report.sent or report.retrying or report.failed)
                wait = seconds_to_next_due(self.store, _now())
            except Exception as exc:  # a broken store or channel never ends the loop
                log.error("alerts: %s: %s", type(exc).__name__, exc)
                wait = self.idle
            if unfinished:
                continue
            if wait is not None and wait <= 0 and idle_pass:
                wait = STUCK_PAUSE  # due, yet nothing came of it (an error): do not spin
            pause = self.idle if wait is None else min(max(wait, 0.05), self.idle)
            self._wake.wait(pause)
