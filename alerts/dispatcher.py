"""Sends what the outbox holds and is due, one worker per channel, so a slow or failing
receiver never holds up the others.

Every send is bracketed by two writes. Before: the delivery is claimed (its attempt
counted and its next attempt pushed past the send's timeout), so a dispatcher killed
mid-send leaves it to be sent again, never forgotten. After: sent, or the next attempt set
by exponential backoff with jitter (or the receiver's Retry-After), or, once the delivery
has waited longer than ``give_up_after``, failed. A killed dispatcher can therefore only
make a receiver see an id twice; it cannot lose an alert.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.channels import Channel, Digest, Message, Receipt, build_channels
from alerts.outbox import delivery_id
from store import outbox as db

if TYPE_CHECKING:
    from scheduler.config import AlertsConfig, Config
    from store import Store
    from store.outbox import DeliveryRow

__all__ = ["DispatchReport", "Dispatcher", "RetryPolicy"]

log = logging.getLogger(__name__)

MAX_DIGEST = 200  # deliveries listed in one digest message
BATCH = 500  # deliveries read per query


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """[alerts] retry_initial, retry_max and give_up_after, in seconds."""

    initial: float = 60.0
    maximum: float = 2 * 3600.0
    give_up_after: float = 48 * 3600.0

    @classmethod
    def from_config(cls, alerts: AlertsConfig) -> RetryPolicy:
        return cls(alerts.retry_initial, alerts.retry_max, alerts.give_up_after)

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Seconds before attempt ``attempts + 1``: doubling from ``initial``, up to half as
        much again at random (so receivers coming back are not hit by everyone at once),
        never more than ``maximum``."""
        base = self.initial * 2.0 ** min(max(attempts - 1, 0), 60)
        return min(self.maximum, base * (1.0 + 0.5 * rng.random()))


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0  # gave up this run
    errors: list[str] = field(default_factory=list)  # "channel: what the receiver answered"

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors

    @property
    def ok(self) -> bool:
        return not self.retrying and not self.failed


class _Taken(Exception):
    """Another dispatcher claimed the delivery first."""


class Dispatcher:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.channels = dict(channels)
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rng = rng or random.Random()

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Dispatcher:
        return cls(store, build_channels(config.channels), RetryPolicy.from_config(config.alerts))

    # -- one pass ------------------------------------------------------------------------------
    def run(self, time_budget: float | None = None) -> DispatchReport:
        """Send everything due now; with ``time_budget`` (seconds) a channel stops taking new
        deliveries once the budget is spent and leaves the rest for the next run."""
        deadline = time.monotonic() + time_budget if time_budget is not None else None
        now = self.clock()
        with self.store.engine.connect() as conn:
            names = db.pending_channels(conn, now)
        report = DispatchReport()
        unknown = [n for n in names if n not in self.channels]
        for name in unknown:
            report.add(self._unconfigured(name, now))
        known = [self.channels[n] for n in names if n in self.channels]
        if not known:
            return report
        with ThreadPoolExecutor(max_workers=min(len(known), 16), thread_name_prefix="alerts") as pool:
            for part in pool.map(lambda ch: self._run_channel(ch, now, deadline), known):
                report.add(part)
        return report

    def _run_channel(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        try:
            if channel.digest:
                return self._run_digest(channel, now, deadline)
            return self._run_single(channel, now, deadline)
        except Exception as exc:  # one broken channel never stops the others
            log.exception("alerts: channel %s", channel.name)
            return DispatchReport(errors=[f"{channel.name}: {channel.describe(exc)}"])

    def _run_single(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        report = DispatchReport()
        with self.store.engine.connect() as conn:
            rows = db.due(conn, now, channel=channel.name, limit=BATCH)
        for row in rows:
            if deadline is not None and time.monotonic() > deadline:
                break
            outcome = self._attempt(channel, [row], Message(row.id, row.payload))
            report.add(outcome)
            if outcome.retrying or outcome.failed:
                break  # the receiver is in trouble: leave the rest for the next run
        return report

    def _run_digest(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        assert channel.digest is not None
        report = DispatchReport()
        with self.store.engine.connect() as conn:
            batches = db.due_batches(conn, channel.name, now)
        for batch in batches:
            outcome = self._send_batch(channel, batch)
            report.add(outcome)
            if outcome.retrying or outcome.failed or (deadline is not None and time.monotonic() > deadline):
                return report
        with self.store.engine.connect() as conn:
            waiting = db.pending_unbatched(conn, channel.name, now)
        # A digest window opens with its first delivery and closes `digest` seconds later.
        while waiting and (now - waiting[0].created).total_seconds() >= channel.digest:
            members = waiting[:MAX_DIGEST]
            waiting = waiting[MAX_DIGEST:]
            ids = sorted(r.id for r in members)
            batch = delivery_id("digest", channel.name, *ids)
            with self.store.transaction() as conn:
                db.assign_batch(conn, ids, batch)
            outcome = self._send_batch(channel, batch)
            report.add(outcome)
            if outcome.retrying or outcome.failed:
                break
        return report

    def _send_batch(self, channel: Channel, batch: str) -> DispatchReport:
        with self.store.engine.connect() as conn:
            members = [m for m in db.batch_members(conn, batch) if m.status == "pending"]
        if not members:
            return DispatchReport()
        digest = Digest(batch, tuple(Message(m.id, m.payload) for m in members))
        return self._attempt(channel, members, digest)

    # -- one send, bracketed ---------------------------------------------------------------------
    def _attempt(
        self, channel: Channel, rows: Sequence[DeliveryRow], item: Message | Digest
    ) -> DispatchReport:
        ids = [r.id for r in rows]
        attempts = max(r.attempts for r in rows) + 1
        start = self.clock()
        # Claimed until the send would surely have timed out (a timeout bounds each socket
        # operation, not the whole exchange) and a retry would be due anyway.
        lease = self.policy.backoff(attempts, self.rng) + 3 * channel.timeout + channel.min_interval
        try:
            with self.store.transaction() as conn:
                if not db.claim(conn, ids, start, start + timedelta(seconds=lease)):
                    raise _Taken
        except _Taken:
            return DispatchReport()
        try:
            receipt = channel.deliver(item)
        except Exception as exc:  # a bug in one channel is that channel's failure, recorded
            log.exception("alerts: channel %s failed on %s", channel.name, item.id)
            receipt = Receipt(False, channel.describe(exc))
        return self._record(channel.name, rows, attempts, receipt)

    def _record(
        self, channel: str, rows: Sequence[DeliveryRow], attempts: int, receipt: Receipt
    ) -> DispatchReport:
        ids = [r.id for r in rows]
        done = self.clock()
        n = len(ids)
        if receipt.ok:
            with self.store.transaction() as conn:
                db.mark_sent(conn, ids, done)
            log.info(
                "alerts: %s sent %s (%s)",
                channel,
                ids[0] if n == 1 else f"{n} as one",
                receipt.answer,
                extra=_fields(channel, ids, "sent"),
            )
            return DispatchReport(sent=n)
        error = f"attempt {attempts}: {receipt.answer}"
        waited = (done - min(r.queued for r in rows)).total_seconds()
        if waited >= self.policy.give_up_after:
            with self.store.transaction() as conn:
                db.mark_failed(conn, ids, error)
            log.warning(
                "alerts: %s gave up on %d deliver%s: %s",
                channel,
                n,
                "y" if n == 1 else "ies",
                error,
                extra=_fields(channel, ids, "failed", receipt.answer),
            )
            return DispatchReport(failed=n, errors=[f"{channel}: {receipt.answer} (gave up)"])
        if receipt.retry_after is not None:
            delay = receipt.retry_after
        else:
            delay = self.policy.backoff(attempts, self.rng)
        retry_at = done + timedelta(seconds=delay)
        with self.store.transaction() as conn:
            db.mark_retry(conn, ids, retry_at, error)
            if receipt.retry_after is not None:
                db.defer_channel(conn, channel, retry_at)
        log.warning(
            "alerts: %s: %s; retry in %.1fs",
            channel,
            receipt.answer,
            delay,
            extra=_fields(channel, ids, "retrying", receipt.answer),
        )
        return DispatchReport(retrying=n, errors=[f"{channel}: {receipt.answer}"])

    def _unconfigured(self, name: str, now: datetime) -> DispatchReport:
        """Deliveries for a channel no longer in the configuration wait, then fail, visibly."""
        report = DispatchReport()
        with self.store.engine.connect() as conn:
            rows = db.due(conn, now, channel=name, limit=BATCH)
        for row in rows:
            try:
                with self.store.transaction() as conn:
                    if not db.claim(conn, [row.id], now, now):
                        raise _Taken
            except _Taken:
                continue
            answer = f"channel {name!r} is not configured"
            report.add(self._record(name, [row], row.attempts + 1, Receipt(False, answer)))
        return report


def _fields(channel: str, ids: Sequence[str], outcome: str, reason: str | None = None) -> dict[str, Any]:
    """What a JSON log line of a delivery carries (scheduler.logs)."""
    return {
        "channel": channel,
        "delivery_id": ids[0] if len(ids) == 1 else list(ids),
        "outcome": outcome,
        "reason": reason,
    }
