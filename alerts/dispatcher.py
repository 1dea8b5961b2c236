"""Sends what the outbox holds and is due, one worker per channel, so a slow or failing
receiver never holds up the others; one pass sends everything due within its time budget.

Every send is bracketed by two writes. Before: the delivery is claimed (its attempt
counted, its first attempt noted, and its next attempt pushed past the attempt's total
deadline), so a dispatcher killed mid-send leaves it to be sent again, never forgotten.
After: sent; or, for a failure of that delivery alone (HTTP 4xx, a 500 for that payload), its
next attempt by exponential backoff with jitter while the pass goes on; or, for a failure of
the receiver (refused, timed out, 429, 503, Retry-After), the whole channel paused until the
retry; or failed: at once when no retry can help (HTTP 410 Gone, SMTP 550), else once
``give_up_after`` has passed since the first attempt and enough attempts were made. A killed
dispatcher can therefore only make a receiver see an id twice; it cannot lose an alert.
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

from alerts.channels import Batch, Channel, Digest, Message, Receipt, build_channels
from alerts.channels.deadline import STOPPING
from alerts.message import bounded
from alerts.outbox import delivery_id
from store import outbox as db

if TYPE_CHECKING:
    from core.config import AlertsConfig, Config
    from store import Store
    from store.outbox import DeliveryRow

__all__ = ["DispatchReport", "Dispatcher", "RetryPolicy"]

log = logging.getLogger(__name__)

MAX_DIGEST = 200  # deliveries listed in one digest message
BATCH = 500  # deliveries read per query (a pass reads page after page until none is due)
MAX_GIVE_UP_ATTEMPTS = 12


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

    @property
    def min_attempts(self) -> int:
        """Attempts a delivery gets before it may be given up: as many as the backoff makes
        within ``give_up_after`` (at least 1, at most MAX_GIVE_UP_ATTEMPTS). With the age,
        this keeps a clock jump or one long outage from failing a delivery tried once."""
        elapsed, attempts = 0.0, 1
        while attempts < MAX_GIVE_UP_ATTEMPTS:
            elapsed += min(self.maximum, self.initial * 2.0 ** min(attempts - 1, 60))
            if elapsed >= self.give_up_after:
                break
            attempts += 1
        return attempts

    def gives_up(self, attempts: int, first_attempt: datetime, now: datetime) -> bool:
        """Give up once ``give_up_after`` has passed since the first attempt (not since
        queueing) and at least ``min_attempts`` were made."""
        return attempts >= self.min_attempts and (now - first_attempt).total_seconds() >= self.give_up_after

    def wait(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Before the next attempt: what the receiver asked (never more than ``maximum``),
        else the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.maximum)
        return self.backoff(attempts, rng)


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0  # gave up this run
    errors: list[str] = field(default_factory=list)  # "channel: what the receiver answered"
    paused: list[str] = field(default_factory=list)  # channels paused this run (receiver trouble)
    unfinished: bool = False  # the time budget (or a stop) ended the pass with deliveries due
    taken: bool = False  # another dispatcher had claimed (some of) them: nothing was sent

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors
        self.paused += other.paused
        self.unfinished = self.unfinished or other.unfinished

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
        """Send everything due when the pass starts, channel by channel in parallel. A
        delivery that fails alone backs off alone and the pass goes on; a channel whose
        receiver is in trouble pauses until its retry. With ``time_budget`` (seconds) a channel
        stops taking new deliveries once it is spent (``unfinished``: some are left due)."""
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

    @staticmethod
    def _must_stop(deadline: float | None) -> bool:
        return STOPPING.is_set() or (deadline is not None and time.monotonic() > deadline)

    def _run_channel(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        try:
            if channel.digest:
                return self._run_digest(channel, now, deadline)
            return self._run_single(channel, now, deadline)
        except Exception as exc:  # one broken channel never stops the others
            log.exception("alerts: channel %s", channel.name)
            return DispatchReport(errors=[f"{channel.name}: {channel.describe(exc)}"])

    def _run_single(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        """Every delivery of the channel due at ``now``, page after page: each one sent leaves
        the due set, each one failed is rescheduled past ``now``, so the pass ends."""
        report = DispatchReport()
        tried: set[str] = set()
        while True:
            with self.store.engine.connect() as conn:
                rows = [r for r in db.due(conn, now, channel=channel.name, limit=BATCH) if r.id not in tried]
            if not rows:
                return report
            for group in self._sends(channel, rows):
                if self._must_stop(deadline):
                    report.unfinished = True
                    return report
                tried.update(r.id for r in group)
                if len(group) == 1:
                    outcome = self._attempt(channel, group, self._message(group[0]))
                else:
                    outcome = self._attempt(channel, group, Batch(tuple(self._message(r) for r in group)))
                    if outcome.taken:  # another dispatcher holds some of them: the rest one by one
                        outcome = DispatchReport()
                        for row in group:
                            outcome.add(self._attempt(channel, [row], self._message(row)))
                report.add(outcome)
                if outcome.paused:
                    return report  # the receiver is in trouble: the rest wait with the channel

    @staticmethod
    def _sends(channel: Channel, rows: Sequence[DeliveryRow]) -> list[list[DeliveryRow]]:
        """The sends that carry ``rows``, in order: one each, or for a channel that takes
        batches, runs of deliveries never tried before (so one receipt gives them one
        history: the same attempt count, backoff and give-up); one tried before goes alone."""
        if channel.batch <= 1:
            return [[row] for row in rows]

        def fresh(row: DeliveryRow) -> bool:
            return row.attempts == 0 and not row.targets_done

        sends: list[list[DeliveryRow]] = []
        for row in rows:
            if fresh(row) and sends and fresh(sends[-1][0]) and len(sends[-1]) < channel.batch:
                sends[-1].append(row)
            else:
                sends.append([row])
        return sends

    @staticmethod
    def _message(row: DeliveryRow) -> Message:
        return Message(row.id, bounded(row.payload), row.targets_done)

    def _run_digest(self, channel: Channel, now: datetime, deadline: float | None) -> DispatchReport:
        assert channel.digest is not None
        report = DispatchReport()
        with self.store.engine.connect() as conn:
            batches = db.due_batches(conn, channel.name, now)
        for batch in batches:
            if self._must_stop(deadline):
                report.unfinished = True
                return report
            outcome = self._send_batch(channel, batch)
            report.add(outcome)
            if outcome.paused:
                return report
        with self.store.engine.connect() as conn:
            waiting = db.pending_unbatched(conn, channel.name, now)
        # A digest window opens with its first delivery and closes `digest` seconds later.
        while waiting and (now - waiting[0].created).total_seconds() >= channel.digest:
            if self._must_stop(deadline):
                report.unfinished = True
                return report
            members = waiting[:MAX_DIGEST]
            waiting = waiting[MAX_DIGEST:]
            ids = sorted(r.id for r in members)
            batch = delivery_id("digest", channel.name, *ids)
            with self.store.transaction() as conn:
                db.assign_batch(conn, ids, batch)
            outcome = self._send_batch(channel, batch)
            report.add(outcome)
            if outcome.paused:
                break
        return report

    def _send_batch(self, channel: Channel, batch: str) -> DispatchReport:
        with self.store.engine.connect() as conn:
            members = [m for m in db.batch_members(conn, batch) if m.status == "pending"]
        if not members:
            return DispatchReport()
        digest = Digest(batch, tuple(self._message(m) for m in members), members[0].targets_done)
        return self._attempt(channel, members, digest)

    # -- one send, bracketed ---------------------------------------------------------------------
    def _attempt(
        self, channel: Channel, rows: Sequence[DeliveryRow], item: Message | Digest | Batch
    ) -> DispatchReport:
        ids = [r.id for r in rows]
        attempts = max(r.attempts for r in rows) + 1
        start = self.clock()
        # Claimed until the attempt's total deadline has surely passed and a retry would be
        # due anyway: a dispatcher killed mid-send leaves it to be sent again then.
        lease = self.policy.backoff(attempts, self.rng) + 2 * channel.timeout + channel.min_interval
        try:
            with self.store.transaction() as conn:
                if not db.claim(conn, ids, start, start + timedelta(seconds=lease)):
                    raise _Taken
        except _Taken:
            return DispatchReport(taken=True)
        try:
            receipt = channel.deliver(item)
        except Exception as exc:  # a bug in one channel is that channel's failure, recorded
            log.exception("alerts: channel %s failed on %s", channel.name, item.id)
            receipt = Receipt(False, channel.describe(exc), scope="delivery")
        first = min((r.first_attempt or start) for r in rows)
        return self._record(channel.name, rows, attempts, receipt, first, batch=isinstance(item, Batch))

    def _record(
        self,
        channel: str,
        rows: Sequence[DeliveryRow],
        attempts: int,
        receipt: Receipt,
        first_attempt: datetime,
        batch: bool = False,
    ) -> DispatchReport:
        ids = [r.id for r in rows]
        done = self.clock()
        n = len(ids)
        if receipt.targets_done is not None:
            with self.store.transaction() as conn:
                db.set_targets_done(conn, ids, receipt.targets_done)
        if receipt.ok:
            with self.store.transaction() as conn:
                db.mark_sent(conn, ids, done)
            log.info(
                "alerts: %s sent %s (%s)",
                channel,
                ids[0] if n == 1 else f"{n} together" if batch else f"{n} as one",
                receipt.answer,
                extra=_fields(channel, ids, "sent"),
            )
            return DispatchReport(sent=n)
        error = f"attempt {attempts}: {receipt.answer}"
        if STOPPING.is_set():  # cut by our own stop: due again as soon as we are back
            with self.store.transaction() as conn:
                db.mark_retry(conn, ids, done, error)
            return DispatchReport(retrying=n, unfinished=True)
        permanent = receipt.scope == "permanent"
        delay = self.policy.wait(attempts, receipt.retry_after, self.rng)
        retry_at = done + timedelta(seconds=delay)
        if permanent or self.policy.gives_up(attempts, first_attempt, done):
            with self.store.transaction() as conn:
                db.mark_failed(conn, ids, error)
            why = "permanent, not retried" if permanent else "gave up"
            log.warning(
                "alerts: %s: %s on %d deliver%s: %s",
                channel,
                why,
                n,
                "y" if n == 1 else "ies",
                error,
                extra=_fields(channel, ids, "failed", receipt.answer),
            )
            report = DispatchReport(failed=n, errors=[f"{channel}: {receipt.answer} ({why})"])
            if receipt.scope == "channel":
                report.paused.append(channel)
                report.add(self._pause(channel, done, retry_at, error))
            return report
        with self.store.transaction() as conn:
            db.mark_retry(conn, ids, retry_at, error)
        report = DispatchReport(retrying=n, errors=[f"{channel}: {receipt.answer}"])
        if receipt.scope == "channel":
            report.paused.append(channel)
            report.add(self._pause(channel, done, retry_at, error))
            log.warning(
                "alerts: %s: %s; channel paused for %.1fs",
                channel,
                receipt.answer,
                delay,
                extra=_fields(channel, ids, "retrying", receipt.answer),
            )
        else:
            log.warning(
                "alerts: %s: %s; this delivery retries in %.1fs",
                channel,
                receipt.answer,
                delay,
                extra=_fields(channel, ids, "retrying", receipt.answer),
            )
        return report

    def _pause(self, channel: str, now: datetime, until: datetime, error: str) -> DispatchReport:
        """The receiver is in trouble: every delivery of the channel due now counts the
        attempt and waits with it; those past their give-up fail."""
        cutoff = now - timedelta(seconds=self.policy.give_up_after)
        with self.store.transaction() as conn:
            failed = db.channel_failed(
                conn,
                channel,
                now,
                until,
                f"{db.PAUSED}{error}",
                give_up_before=cutoff,
                min_attempts=self.policy.min_attempts,
            )
        if failed:
            log.warning("alerts: %s: gave up on %d more deliveries waiting for the channel", channel, failed)
        return DispatchReport(failed=failed)

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
            receipt = Receipt(False, answer, scope="delivery")
            report.add(self._record(name, [row], row.attempts + 1, receipt, row.first_attempt or now))
        return report


def _fields(channel: str, ids: Sequence[str], outcome: str, reason: str | None = None) -> dict[str, Any]:
    """What a JSON log line of a delivery carries (core.logs)."""
    return {
        "channel": channel,
        "delivery_id": ids[0] if len(ids) == 1 else list(ids),
        "outcome": outcome,
        "reason": reason,
    }
