"""Reading the store for people: story lists in the order they are shown, one story with
everything known about it, and the health of the crawl and the outbox. Read-only; used by
the web page (``web/``) and ``defwatch stories list|search``. Search itself is
``store.search``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal_column, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from store import schema as t
from store.search import newest_first

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "copy_marks",
    "deliveries_for_story",
    "latest_ids",
    "outbox_summary",
    "recent_runs",
    "sources",
    "stories_by_id",
    "story",
    "texts_newest_first",
]

s = t.stories
d = t.deliveries

# What a story list shows of each story (no body: lists stay light).
_LIST_COLUMNS = (s.c.id, s.c.url, s.c.source, s.c.title, s.c.published, s.c.fetched, s.c.kind, s.c.complete)


def _of_sources(sources: Sequence[str]) -> ColumnElement[bool]:
    """One source as equality, so SQLite reads ix_stories_source_shown in order."""
    if not sources:
        return true()
    if len(sources) == 1:
        return s.c.source == sources[0]
    return s.c.source.in_(list(sources))


def has_source(conn: Connection, source: str) -> bool:
    """Whether any story of ``source`` is stored (one index lookup)."""
    return conn.execute(select(s.c.id).where(s.c.source == source).limit(1)).first() is not None


def latest_ids(
    conn: Connection,
    *,
    sources: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[int]:
    """Story ids newest first (published, else fetched), ``limit`` from ``offset``."""
    query = select(s.c.id).where(_of_sources(sources))
    if since is not None:
        query = query.where(func.coalesce(s.c.published, s.c.fetched) >= since)
    query = query.order_by(*newest_first()).limit(limit).offset(offset)
    return [int(i) for i in conn.execute(query).scalars()]


def texts_newest_first(
    conn: Connection, *, sources: Sequence[str] = (), since: datetime | None = None, batch: int = 500
) -> Iterator[list[tuple[int, str]]]:
    """(id, text_norm) of the stories, newest first, in batches (for rule filters, which
    are decided in Python: the caller stops reading once it has enough)."""
    last: tuple[Any, int] | None = None
    when = func.coalesce(s.c.published, s.c.fetched)
    while True:
        query = select(s.c.id, s.c.text_norm, when.label("when")).where(_of_sources(sources))
        if since is not None:
            query = query.where(when >= since)
        if last is not None:
            query = query.where(or_(when < last[0], (when == last[0]) & (s.c.id < last[1])))
        rows = conn.execute(query.order_by(*newest_first()).limit(batch)).all()
        if not rows:
            return
        yield [(int(r.id), r.text_norm) for r in rows]
        last = (rows[-1].when, int(rows[-1].id))
        if len(rows) < batch:
            return


def stories_by_id(conn: Connection, ids: Sequence[int], *, full: bool = False) -> dict[int, dict[str, Any]]:
    """The stories with these ids (list columns; every column with ``full``), by id."""
    if not ids:
        return {}
    columns = (s,) if full else _LIST_COLUMNS
    rows = conn.execute(select(*columns).where(s.c.id.in_(list(ids)))).mappings()
    return {int(r["id"]): dict(r) for r in rows}


def copy_marks(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """For the stories among ``ids`` that belong to a group of copies: ``{"origin": id of
    the group's origin, "size": stories in the group, "sources": the group's sources}``."""
    if not ids:
        return {}
    links = t.story_links
    wanted = list(ids)
    origin_of: dict[int, int] = {}
    for copy_id, origin_id in conn.execute(
        select(links.c.copy_id, links.c.origin_id).where(links.c.copy_id.in_(wanted))
    ):
        origin_of[int(copy_id)] = int(origin_id)
    for i in wanted:
        origin_of.setdefault(i, i)
    origins = sorted(set(origin_of.values()))
    members: dict[int, list[int]] = {o: [o] for o in origins}
    for copy_id, origin_id in conn.execute(
        select(links.c.copy_id, links.c.origin_id).where(links.c.origin_id.in_(origins))
    ):
        members[int(origin_id)].append(int(copy_id))
    everyone = sorted({m for group in members.values() for m in group})
    source_of = dict(conn.execute(select(s.c.id, s.c.source).where(s.c.id.in_(everyone))).all())
    out: dict[int, dict[str, Any]] = {}
    for i in wanted:
        group = members[origin_of[i]]
        if len(group) > 1:
            out[i] = {
                "origin": origin_of[i],
                "size": len(group),
                "sources": sorted({source_of[m] for m in group if m in source_of}),
            }
    return out


def story(conn: Connection, story_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(s).where(s.c.id == story_id)).mappings().first()
    return dict(row) if row else None


def deliveries_for_story(conn: Connection, story_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The alert deliveries of these stories (a group's), oldest first."""
    rows = conn.execute(
        select(
            d.c.id,
            d.c.rule,
            d.c.channel,
            d.c.kind,
            d.c.story_id,
            d.c.status,
            d.c.attempts,
            d.c.created,
            d.c.next_attempt,
            d.c.sent_at,
            d.c.last_error,
        )
        .where(d.c.story_id.in_(list(story_ids)))
        .order_by(d.c.created, d.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def sources(conn: Connection) -> list[str]:
    """Every source that has stored a story."""
    return [str(x) for x in conn.execute(select(s.c.source).distinct().order_by(s.c.source)).scalars()]


def recent_runs(conn: Connection, source: str, limit: int = 5) -> list[dict[str, Any]]:
    """The latest runs of a source (running ones too), newest first."""
    r = t.crawl_runs
    rows = conn.execute(
        select(r).where(r.c.source == source).order_by(r.c.started.desc(), r.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(x) for x in rows]


def ops_states(conn: Connection) -> dict[str, dict[str, Any]]:
    """The operations state (ok | degraded | failing, since, reason) of every source with one."""
    return {str(r["source"]): dict(r) for r in conn.execute(select(t.ops_states)).mappings()}


def outbox_summary(conn: Connection, limit: int = 20) -> dict[str, Any]:
    """The outbox: counts of pending (never tried), retrying (pending after a failed
    attempt), failed and sent deliveries, and the latest retrying and failed ones."""
    retrying = (d.c.status == "pending") & (d.c.attempts > 0)
    counts = {"pending": 0, "retrying": 0, "failed": 0, "sent": 0}
    # One SQL text for the grouped expression (two bound zeros are two expressions to
    # PostgreSQL, which then refused the GROUP BY and the health page answered 503).
    tried_once = d.c.attempts > literal_column("0")
    for status, tried, n in conn.execute(
        select(d.c.status, tried_once, func.count()).group_by(d.c.status, tried_once)
    ):
        key = "retrying" if status == "pending" and tried else str(status)
        counts[key] = counts.get(key, 0) + int(n)
    columns = (
        d.c.id,
        d.c.rule,
        d.c.channel,
        d.c.kind,
        d.c.story_id,
        d.c.status,
        d.c.attempts,
        d.c.created,
        d.c.next_attempt,
        d.c.last_error,
        d.c.payload,
    )
    lists: dict[str, list[dict[str, Any]]] = {}
    for name, where, order in (
        ("retrying", retrying, d.c.next_attempt),
        ("failed", d.c.status == "failed", d.c.created.desc()),
        ("pending", (d.c.status == "pending") & (d.c.attempts == 0), d.c.next_attempt),
    ):
        rows = conn.execute(select(*columns).where(where).order_by(order).limit(limit)).mappings()
        lists[name] = [dict(r) for r in rows]
    return {"counts": counts, **lists}


def latest_snapshots(conn: Connection, source: str) -> list[dict[str, Any]]:
    """The newest ranking snapshot of each window of a source (valid or not, with the
    reason the reader's self-checks gave for an invalid one)."""
    snaps = t.ranking_snapshots
    newest = (
        select(snaps.c.window, func.max(snaps.c.id).label("id"))
        .where(snaps.c.source == source)
        .group_by(snaps.c.window)
        .subquery()
    )
    rows = conn.execute(
        select(snaps.c.window, snaps.c.taken_at, snaps.c.valid, snaps.c.reason)
        .join(newest, newest.c.id == snaps.c.id)
        .order_by(snaps.c.window)
    ).mappings()
    return [dict(r) for r in rows]
