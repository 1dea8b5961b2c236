"""The alert outbox in the database: deliveries (one row per story, rule and channel, with a
stable id), their claims and outcomes, digest batches, and the state of operations alerts.
(Groups of copies, which the outbox consults, are ``store.links``.)

Claiming is a compare-and-set on ``next_attempt``: a delivery is pushed into the future
*before* it is sent, so two dispatchers never send it at once and a dispatcher killed
mid-send leaves it to be sent again later (a duplicate at worst, never a loss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, bindparam, func, insert, select, update

from core.model import Story
from store import schema as t
from store.upsert import insert_unless_there, upsert

__all__ = [
    "DeliveryRow",
    "add_also",
    "assign_batch",
    "batch_members",
    "ChannelPause",
    "channel_failed",
    "claim",
    "counts_by_channel",
    "defer_channel",
    "due",
    "due_batches",
    "failed_deliveries",
    "group_delivery",
    "insert_delivery",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "next_due",
    "ops_state",
    "pending_channels",
    "paused_channels",
    "pending_unbatched",
    "recent_runs",
    "requeue_failed",
    "set_ops_state",
    "set_targets_done",
    "sources_of",
    "story_row",
]

d = t.deliveries


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    rule: str
    channel: str
    kind: str
    story_id: int | None
    status: str
    attempts: int
    created: datetime
    queued: datetime
    next_attempt: datetime
    sent_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]
    batch: str | None
    first_attempt: datetime | None = None
    targets_done: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | RowMapping) -> DeliveryRow:
        return cls(
            id=row["id"],
            rule=row["rule"],
            channel=row["channel"],
            kind=row["kind"],
            story_id=row["story_id"],
            status=row["status"],
            attempts=row["attempts"],
            created=row["created"],
            queued=row["queued"] or row["created"],
            next_attempt=row["next_attempt"],
            sent_at=row["sent_at"],
            last_error=row["last_error"],
            payload=dict(row["payload"] or {}),
            batch=row["batch"],
            first_attempt=row.get("first_attempt"),
            targets_done=tuple(row.get("targets_done") or ()),
        )


# -- stories (groups of copies are store.links) ---------------------------------------------


def story_row(conn: Connection, story_id: int) -> Story | None:
    row = conn.execute(select(t.stories).where(t.stories.c.id == story_id)).mappings().first()
    return Story.from_row(dict(row)) if row else None


def sources_of(conn: Connection, urls: Sequence[str]) -> dict[str, str]:
    """The source name of each stored story among ``urls``."""
    rows = conn.execute(select(t.stories.c.url, t.stories.c.source).where(t.stories.c.url.in_(list(urls))))
    return {url: source for url, source in rows}


# -- enqueueing (inside the transaction that saved the story or the ranking snapshot) -----------


# Built once (compiled once, values bound per call): one of each for every story queued.
def _group_delivery(story: Any) -> Select[Any]:
    return (
        select(d.c.id)
        .where(story, d.c.rule == bindparam("rule"), d.c.channel == bindparam("channel"), d.c.kind == "story")
        .order_by(d.c.created)
        .limit(1)
    )


_GROUP_DELIVERY = _group_delivery(d.c.story_id.in_(bindparam("story_ids", expanding=True)))
_STORY_DELIVERY = _group_delivery(d.c.story_id == bindparam("story_id"))  # a group of one: most


def group_delivery(conn: Connection, story_ids: Sequence[int], rule: str, channel: str) -> str | None:
    """The id of a story delivery of (rule, channel) for any story of the group, if any."""
    if len(story_ids) == 1:
        params = {"story_id": story_ids[0], "rule": rule, "channel": channel}
        return conn.execute(_STORY_DELIVERY, params).scalar_one_or_none()
    params = {"story_ids": list(story_ids), "rule": rule, "channel": channel}
    return conn.execute(_GROUP_DELIVERY, params).scalar_one_or_none()


_DELIVERY_EXISTS = select(d.c.id).where(d.c.id == bindparam("id"))
_INSERT_DELIVERY = insert(d)


def insert_delivery(
    conn: Connection,
    *,
    id: str,
    rule: str,
    channel: str,
    kind: str,
    payload: Mapping[str, Any],
    now: datetime,
    story_id: int | None = None,
) -> bool:
    """Add a pending delivery unless one with this id exists; True when added."""
    values = {
        "id": id,
        "rule": rule,
        "channel": channel,
        "kind": kind,
        "story_id": story_id,
        "status": "pending",
        "attempts": 0,
        "created": now,
        "queued": now,
        "next_attempt": now,
        "payload": dict(payload),
    }
    statement = insert_unless_there(conn.dialect.name, d)
    if statement is not None:
        return conn.execute(statement, values).rowcount == 1
    if conn.execute(_DELIVERY_EXISTS, {"id": id}).first() is not None:
        return False
    conn.execute(_INSERT_DELIVERY, values)
    return True


def add_also(conn: Connection, delivery_id: str, url: str) -> None:
    """Name one more URL of the same story in a delivery not yet sent."""
    row = conn.execute(select(d.c.payload, d.c.status).where(d.c.id == delivery_id)).first()
    if row is None or row.status == "sent":
        return
    payload = dict(row.payload or {})
    story = dict(payload.get("story") or {})
    also = list(story.get("also") or [])
    if url in also or url == story.get("url"):
        return
    story["also"] = [*also, url]
    payload["story"] = story
    conn.execute(update(d).where(d.c.id == delivery_id).values(payload=payload))


# -- dispatching ------------------------------------------------------------------------------


def due(conn: Connection, now: datetime, channel: str | None = None, limit: int = 1000) -> list[DeliveryRow]:
    """Pending deliveries whose time has come, oldest first."""
    query = select(d).where(d.c.status == "pending", d.c.next_attempt <= now)
    if channel is not None:
        query = query.where(d.c.channel == channel)
    rows = conn.execute(query.order_by(d.c.next_attempt, d.c.created, d.c.id).limit(limit)).mappings()
    return [DeliveryRow.from_row(r) for r in rows]


def batch_members(conn: Connection, batch: str) -> list[DeliveryRow]:
    rows = conn.execute(select(d).where(d.c.batch == batch).order_by(d.c.created, d.c.id)).mappings()
    return [DeliveryRow.from_row(r) for r in rows]


def assign_batch(conn: Connection, ids: Sequence[str], batch: str) -> int:
    """Put pending, unbatched deliveries into one digest; returns how many joined."""
    result = conn.execute(
        update(d)
        .where(d.c.id.in_(list(ids)), d.c.status == "pending", d.c.batch.is_(None))
        .values(batch=batch)
    )
    return int(result.rowcount or 0)


def claim(conn: Connection, ids: Sequence[str], now: datetime, until: datetime) -> bool:
    """Take deliveries for one send: count the attempt and push ``next_attempt`` to ``until``,
    all or none, and only if still pending and due (another dispatcher may have them)."""
    ids = list(ids)
    result = conn.execute(
        update(d)
        .where(d.c.id.in_(ids), d.c.status == "pending", d.c.next_attempt <= now)
        .values(
            attempts=d.c.attempts + 1,
            next_attempt=until,
            first_attempt=func.coalesce(d.c.first_attempt, now),
        )
    )
    # Fewer rows than asked: someone else holds part of it; the caller rolls back ours.
    return (result.rowcount or 0) == len(ids)


def mark_sent(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    conn.execute(update(d).where(d.c.id.in_(list(ids))).values(status="sent", sent_at=now, last_error=None))


def mark_retry(conn: Connection, ids: Sequence[str], next_attempt: datetime, error: str) -> None:
    conn.execute(
        update(d)
        .where(d.c.id.in_(list(ids)), d.c.status == "pending")
        .values(next_attempt=next_attempt, last_error=error)
    )


def mark_failed(conn: Connection, ids: Sequence[str], error: str) -> None:
    conn.execute(
        update(d)
        .where(d.c.id.in_(list(ids)), d.c.status == "pending")
        .values(status="failed", last_error=error)
    )


def defer_channel(conn: Connection, channel: str, until: datetime) -> None:
    """A receiver asked us to wait (429 Retry-After): nothing else goes to it before then."""
    conn.execute(
        update(d)
        .where(d.c.channel == channel, d.c.status == "pending", d.c.next_attempt < until)
        .values(next_attempt=until)
    )


def channel_failed(
    conn: Connection,
    channel: str,
    now: datetime,
    until: datetime,
    error: str,
    *,
    give_up_before: datetime,
    min_attempts: int,
) -> int:
    """The channel itself failed (refused, timed out, 429, 503): every delivery of it that was
    due counts the attempt (the channel was tried for it too) and waits until ``until``;
    those tried since before ``give_up_before`` at least ``min_attempts`` times fail. Returns
    how many failed."""
    due_now = (d.c.channel == channel, d.c.status == "pending", d.c.next_attempt <= now)
    conn.execute(
        update(d)
        .where(*due_now)
        .values(attempts=d.c.attempts + 1, first_attempt=func.coalesce(d.c.first_attempt, now))
    )
    failed = conn.execute(
        update(d)
        .where(*due_now, d.c.attempts >= min_attempts, d.c.first_attempt <= give_up_before)
        .values(status="failed", last_error=error)
    )
    # Every delivery that now waits for the channel says so (``paused_channels`` reads it back
    # for ``defwatch status``); the one whose attempt paused it included.
    conn.execute(
        update(d)
        .where(d.c.channel == channel, d.c.status == "pending", d.c.next_attempt <= until)
        .values(next_attempt=until, last_error=error)
    )
    return int(failed.rowcount or 0)


PAUSED = "channel paused: "


@dataclass(frozen=True)
class ChannelPause:
    channel: str
    until: datetime  # when the channel is tried next
    reason: str  # what the receiver last did (its secrets already masked)
    waiting: int  # deliveries waiting for it


def paused_channels(conn: Connection, now: datetime) -> list[ChannelPause]:
    """Channels failing as a whole right now: their pending deliveries wait, marked by
    ``channel_failed``, for a time still ahead."""
    waiting = (
        select(d.c.channel, d.c.next_attempt, d.c.last_error)
        .where(d.c.status == "pending", d.c.next_attempt > now, d.c.last_error.startswith(PAUSED))
        .order_by(d.c.channel, d.c.next_attempt.desc())
    )
    found: dict[str, ChannelPause] = {}
    for row in conn.execute(waiting):
        seen = found.get(row.channel)
        if seen is None:  # the latest pause of the channel says when and why
            found[row.channel] = ChannelPause(row.channel, row.next_attempt, row.last_error[len(PAUSED) :], 1)
        else:
            found[row.channel] = ChannelPause(seen.channel, seen.until, seen.reason, seen.waiting + 1)
    return list(found.values())


def set_targets_done(conn: Connection, ids: Sequence[str], targets: Sequence[str]) -> None:
    """Record which targets of a many-target channel already have these deliveries."""
    conn.execute(update(d).where(d.c.id.in_(list(ids))).values(targets_done=list(targets)))


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    value = conn.execute(select(func.min(d.c.next_attempt)).where(d.c.status == "pending")).scalar()
    if value is None or not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # min() keeps the column type


def requeue_failed(conn: Connection, now: datetime, channel: str | None = None) -> int:
    """Put failed deliveries back in the queue with a fresh give-up clock."""
    query = update(d).where(d.c.status == "failed")
    if channel is not None:
        query = query.where(d.c.channel == channel)
    result = conn.execute(
        query.values(status="pending", attempts=0, next_attempt=now, queued=now, first_attempt=None)
    )
    return int(result.rowcount or 0)


def failed_deliveries(conn: Connection, limit: int = 10) -> list[DeliveryRow]:
    rows = conn.execute(
        select(d).where(d.c.status == "failed").order_by(d.c.created.desc(), d.c.id).limit(limit)
    ).mappings()
    return [DeliveryRow.from_row(r) for r in rows]


def counts_by_channel(conn: Connection) -> dict[str, dict[str, int]]:
    rows = conn.execute(select(d.c.channel, d.c.status, func.count()).group_by(d.c.channel, d.c.status))
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        out.setdefault(channel, {"pending": 0, "sent": 0, "failed": 0})[status] = int(n)
    return out


def pending_unbatched(conn: Connection, channel: str, now: datetime) -> list[DeliveryRow]:
    """Pending deliveries of a digest channel not yet in a digest, oldest first."""
    rows = conn.execute(
        select(d)
        .where(
            d.c.channel == channel,
            d.c.status == "pending",
            d.c.batch.is_(None),
            d.c.next_attempt <= now,
        )
        .order_by(d.c.created, d.c.id)
    ).mappings()
    return [DeliveryRow.from_row(r) for r in rows]


def due_batches(conn: Connection, channel: str, now: datetime) -> list[str]:
    """Digests of a channel with a member due now (members move together)."""
    rows = conn.execute(
        select(d.c.batch)
        .where(
            d.c.channel == channel, d.c.status == "pending", d.c.batch.is_not(None), d.c.next_attempt <= now
        )
        .group_by(d.c.batch)
        .order_by(func.min(d.c.created))
    )
    return [b for b in rows.scalars() if b is not None]


def pending_channels(conn: Connection, now: datetime) -> list[str]:
    rows = conn.execute(
        select(d.c.channel).where(d.c.status == "pending", d.c.next_attempt <= now).group_by(d.c.channel)
    )
    return sorted(rows.scalars())


# -- operations alerts --------------------------------------------------------------------------


def ops_state(conn: Connection, source: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.ops_states).where(t.ops_states.c.source == source)).mappings().first()
    return dict(row) if row else None


def set_ops_state(
    conn: Connection, source: str, state: str, since: datetime, run_id: int | None, reason: str | None
) -> None:
    values = {"state": state, "since": since, "run_id": run_id, "reason": reason}
    upsert(conn, t.ops_states, {"source": source}, values)


def recent_runs(conn: Connection, source: str, limit: int) -> list[dict[str, Any]]:
    """The latest finished runs of a source, newest first (running ones are not counted)."""
    rows = conn.execute(
        select(t.crawl_runs)
        .where(
            t.crawl_runs.c.source == source,
            t.crawl_runs.c.finished.is_not(None),
            t.crawl_runs.c.outcome != "running",
        )
        .order_by(t.crawl_runs.c.finished.desc(), t.crawl_runs.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
