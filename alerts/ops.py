"""Operations alerts: a source that has been degraded or failing for
``[alerts] ops_after_failures`` runs in a row raises one alert to ``[alerts] ops_channel``,
and one more when a run succeeds again; nothing in between, however many runs fail.

The decision reads the recorded runs and the state kept in ``ops_states``, so calling it
after every crawl, or again from ``defwatch alerts``, never repeats an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alerts.message import ops_payload
from alerts.outbox import delivery_id
from store import outbox as db

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.config import Config
    from store import Store

__all__ = ["BAD_OUTCOMES", "check_source", "check_sources"]

log = logging.getLogger(__name__)

BAD_OUTCOMES = ("degraded", "failed", "timeout")
GOOD_OUTCOMES = ("ok",)
# An interrupted run (the daemon was stopped) says nothing about the source.
IGNORED_OUTCOMES = ("interrupted", "running")


def _now() -> datetime:
    return datetime.now(UTC)


def check_sources(store: Store, config: Config, clock: Callable[[], datetime] = _now) -> list[str]:
    """Raise or clear operations alerts for every configured source; returns the ids of the
    deliveries added. Does nothing without ``[alerts] ops_channel``."""
    channel = config.alerts.ops_channel
    if channel is None:
        return []
    added: list[str] = []
    for source in config.sources:
        with store.transaction() as conn:
            did = check_source(conn, source.name, channel, config.alerts.ops_after_failures, clock())
        if did:
            added.append(did)
    return added


def check_source(conn: Connection, source: str, channel: str, after: int, now: datetime) -> str | None:
    """One source: compare its latest runs with its recorded state; queue at most one alert."""
    after = max(after, 1)
    runs = [r for r in db.recent_runs(conn, source, after * 3 + 5) if r["outcome"] not in IGNORED_OUTCOMES]
    if not runs:
        return None
    latest = runs[0]
    state = (db.ops_state(conn, source) or {}).get("state", "ok")
    if state == "ok":
        streak = _bad_streak(runs)
        if len(streak) < after:
            return None
        new_state = "degraded" if latest["outcome"] == "degraded" else "failing"
        did = delivery_id("ops", source, "raised", latest["id"])
        payload = ops_payload(source, new_state, len(streak), latest["outcome"], latest["reason"], now)
        added = db.insert_delivery(
            conn, id=did, rule="ops", channel=channel, kind="ops", payload=payload, now=now
        )
        db.set_ops_state(conn, source, new_state, now, latest["id"], latest["reason"])
        log.warning("ops: source %s %s for %d runs in a row", source, new_state, len(streak))
        return did if added else None
    if latest["outcome"] in GOOD_OUTCOMES:
        did = delivery_id("ops", source, "recovered", latest["id"])
        payload = ops_payload(source, "recovered", 0, latest["outcome"], None, now)
        added = db.insert_delivery(
            conn, id=did, rule="ops", channel=channel, kind="ops", payload=payload, now=now
        )
        db.set_ops_state(conn, source, "ok", now, latest["id"], None)
        log.warning("ops: source %s recovered", source)
        return did if added else None
    return None


def _bad_streak(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest runs, newest first, as long as they are degraded or failing."""
    streak = []
    for run in runs:
        if run["outcome"] not in BAD_OUTCOMES:
            break
        streak.append(run)
    return streak
