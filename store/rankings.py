"""Rankings in the store: the snapshots movements are computed from, the movements
(``ranking_events``), and the history the terminal table, the chart, the feeds and the
alerts read. Every SQL statement about rankings lives here; what a movement *is* is
decided in ``rankings.movements``.

Snapshots of one source and window are ordered by ``(taken_at, id)``. Functions taking a
``Connection`` run inside the caller's transaction (the snapshot hook's); those taking a
``Store`` open their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from core.model import Movement
from store import schema as t
from store.urls import url_key

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from store.db import Store

EVENT_KINDS = ("entered", "left", "climbed", "fell", "new_1", "returned")
ENTERING_KINDS = ("entered", "returned")  # a story (re)starts a stretch on the list

_s = t.ranking_snapshots
_e = t.ranking_entries
_ev = t.ranking_events

# The columns of a stored movement that make a ``core.model.Movement``.
_EVENT_COLUMNS = (
    _ev.c.id,
    _ev.c.source,
    _ev.c.window,
    _ev.c.kind,
    _ev.c.rank,
    _ev.c.previous_rank,
    _ev.c.url,
    _ev.c.title,
    _ev.c.at,
)


def _before(snap: Mapping[str, Any]) -> ColumnElement[bool]:
    """Snapshots of the same window that come before ``snap``."""
    return and_(
        _s.c.source == snap["source"],
        _s.c.window == snap["window"],
        _s.c.taken_at <= snap["taken_at"],  # the range the index serves; the OR refines it
        or_(_s.c.taken_at < snap["taken_at"], _s.c.id < snap["id"]),
    )


# -- what the movement hook reads and writes ---------------------------------------------


def snapshot(conn: Connection, snapshot_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(_s).where(_s.c.id == snapshot_id)).mappings().first()
    return dict(row) if row else None


def entries(conn: Connection, snapshot_id: int) -> list[dict[str, Any]]:
    """A snapshot's list in rank order: rank, url, url_key, title."""
    rows = conn.execute(
        select(_e.c.rank, _e.c.url, _e.c.url_key, _e.c.title)
        .where(_e.c.snapshot_id == snapshot_id)
        .order_by(_e.c.rank, _e.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def last_valid_before(conn: Connection, snap: Mapping[str, Any]) -> dict[str, Any] | None:
    """The valid snapshot ``snap`` is compared with: the last one before it."""
    row = (
        conn.execute(
            select(_s)
            .where(_before(snap), _s.c.valid.is_(True))
            .order_by(_s.c.taken_at.desc(), _s.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def has_later_snapshot(conn: Connection, snap: Mapping[str, Any]) -> bool:
    """Whether a snapshot of the same window was taken after ``snap`` (a late arrival)."""
    query = select(_s.c.id).where(
        _s.c.source == snap["source"],
        _s.c.window == snap["window"],
        _s.c.taken_at >= snap["taken_at"],  # the range the index serves; the OR refines it
        or_(_s.c.taken_at > snap["taken_at"], _s.c.id > snap["id"]),
    )
    return conn.execute(query.limit(1)).first() is not None


def listed_before(conn: Connection, snap: Mapping[str, Any], keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` were on a valid list of the window before ``snap``."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    rows = conn.execute(
        select(_e.c.url_key)
        .distinct()
        .join(_s, _s.c.id == _e.c.snapshot_id)
        .where(_e.c.url_key.in_(wanted), _s.c.valid.is_(True), _before(snap))
    ).scalars()
    return set(rows)


def set_validity(conn: Connection, snapshot_id: int, valid: bool, reason: str | None) -> None:
    conn.execute(update(_s).where(_s.c.id == snapshot_id).values(valid=valid, reason=reason))


def window_snapshots(conn: Connection, source: str, window: str) -> list[dict[str, Any]]:
    """Every snapshot of a window in order, each with its ``entries`` (two queries)."""
    snaps = [
        dict(r)
        for r in conn.execute(
            select(_s).where(_s.c.source == source, _s.c.window == window).order_by(_s.c.taken_at, _s.c.id)
        ).mappings()
    ]
    by_id: dict[int, list[dict[str, Any]]] = {s["id"]: [] for s in snaps}
    rows = conn.execute(
        select(_e.c.snapshot_id, _e.c.rank, _e.c.url, _e.c.url_key, _e.c.title)
        .join(_s, _s.c.id == _e.c.snapshot_id)
        .where(_s.c.source == source, _s.c.window == window)
        .order_by(_e.c.snapshot_id, _e.c.rank, _e.c.id)
    ).mappings()
    for r in rows:
        by_id[r["snapshot_id"]].append({k: r[k] for k in ("rank", "url", "url_key", "title")})
    for s in snaps:
        s["entries"] = by_id[s["id"]]
    return snaps


def window_events(conn: Connection, source: str, window: str) -> list[dict[str, Any]]:
    """Every stored movement of a window, with the columns that identify it."""
    rows = conn.execute(select(_ev).where(_ev.c.source == source, _ev.c.window == window)).mappings()
    return [dict(r) for r in rows]


def insert_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Movement]:
    """Store movements (full ``ranking_events`` rows without id), in order; return them
    with their new ids."""
    if not rows:
        return []
    result = conn.execute(insert(_ev).returning(_ev.c.id, sort_by_parameter_order=True), list(rows))
    ids = list(result.scalars())
    public = [c.name for c in _EVENT_COLUMNS if c.name != "id"]
    return [Movement(id=int(pk), **{k: row[k] for k in public}) for pk, row in zip(ids, rows, strict=True)]


def delete_events(conn: Connection, ids: Iterable[int]) -> None:
    id_list = list(ids)
    for i in range(0, len(id_list), 500):
        conn.execute(delete(_ev).where(_ev.c.id.in_(id_list[i : i + 500])))


# -- reading: movements ------------------------------------------------------------------


def recent_events(
    store: Store,
    source: str | None,
    window: str,
    limit: int,
    *,
    since: datetime | None = None,
) -> list[Movement]:
    """The newest movements of a window (of every source when ``source`` is None), newest
    snapshot first and, within one snapshot, in the order they were found (new #1, the
    list top to bottom, then what left). ``since``: only movements after that time."""
    query = select(*_EVENT_COLUMNS).where(_ev.c.window == window)
    if source is not None:
        query = query.where(_ev.c.source == source)
    if since is not None:
        query = query.where(_ev.c.at > since)
    query = query.order_by(_ev.c.at.desc(), _ev.c.snapshot_id.desc(), _ev.c.id).limit(limit)
    with store.engine.connect() as conn:
        return [Movement(**r) for r in conn.execute(query).mappings()]


# -- reading: snapshots and history ------------------------------------------------------


def ranking_sources(store: Store, window: str) -> list[str]:
    """The sources that have stored a list for ``window``."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(_s.c.source).distinct().where(_s.c.window == window).order_by(_s.c.source))
        return list(rows.scalars())


def _latest(conn: Connection, source: str, window: str, *conditions: Any) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(_s)
            .where(_s.c.source == source, _s.c.window == window, *conditions)
            .order_by(_s.c.taken_at.desc(), _s.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def rank_history(
    store: Store,
    url: str,
    window: str,
    *,
    source: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """One story's rank over time in one window: ``{at, rank, source}`` for every valid
    snapshot that listed it, oldest first. A snapshot that did not list it has no row.

    Reads the story's entries through ``ix_ranking_entries_url_key`` and each entry's
    snapshot by primary key: the cost grows with how often the story was listed, not with
    the number of snapshots stored."""
    query = _rank_history_query(url, window, source, since)
    with store.engine.connect() as conn:
        return [{"at": at, "rank": rank, "source": src} for at, rank, src in conn.execute(query)]


def rank_history_plan(store: Store, url: str, window: str) -> list[str]:
    """SQLite's plan for :func:`rank_history` (for the bench and the tests: an index
    search, never a scan of the entries)."""
    query = _rank_history_query(url, window, None, None)
    compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        return [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]


def _rank_history_query(url: str, window: str, source: str | None, since: datetime | None) -> Any:
    query = (
        select(_s.c.taken_at, _e.c.rank, _s.c.source)
        .select_from(_e)
        .join(_s, _s.c.id == _e.c.snapshot_id)
        .where(_e.c.url_key == url_key(url), _s.c.window == window, _s.c.valid.is_(True))
        .order_by(_s.c.taken_at, _s.c.id)
    )
    if source is not None:
        query = query.where(_s.c.source == source)
    if since is not None:
        query = query.where(_s.c.taken_at >= since)
    return query


def window_history(
    store: Store, source: str, window: str, *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Every snapshot of a window (from ``since``), oldest first: id, taken_at, valid,
    reason and, for valid ones, ``entries`` (rank, url, url_key, title)."""
    where: list[Any] = [_s.c.source == source, _s.c.window == window]
    if since is not None:
        where.append(_s.c.taken_at >= since)
    with store.engine.connect() as conn:
        snaps = [
            dict(r)
            for r in conn.execute(
                select(_s.c.id, _s.c.taken_at, _s.c.valid, _s.c.reason)
                .where(*where)
                .order_by(_s.c.taken_at, _s.c.id)
            ).mappings()
        ]
        by_id: dict[int, list[dict[str, Any]]] = {s["id"]: [] for s in snaps}
        rows = conn.execute(
            select(_e.c.snapshot_id, _e.c.rank, _e.c.url, _e.c.url_key, _e.c.title)
            .join(_s, _s.c.id == _e.c.snapshot_id)
            .where(*where, _s.c.valid.is_(True))
            .order_by(_e.c.snapshot_id, _e.c.rank, _e.c.id)
        ).mappings()
        for r in rows:
            by_id[r["snapshot_id"]].append({k: r[k] for k in ("rank", "url", "url_key", "title")})
    for s in snaps:
        s["entries"] = by_id[s["id"]] if s["valid"] else []
    return snaps


def current_ranking(
    store: Store, source: str, window: str, *, ago: timedelta = timedelta(hours=24)
) -> dict[str, Any] | None:
    """The latest valid list of a window, each story with its change since the previous
    valid list and since ``ago`` before it, and how long it has been listed. None when
    the window has no valid list yet.

    Keys: source, window, snapshot_id, taken_at, previous_taken_at, ago_taken_at (the
    list compared with for ``ago``: the last valid one taken at least ``ago`` earlier;
    None when history is shorter), newer_invalid (invalid snapshots taken after the list
    shown: taken_at, reason), entries. Each entry: rank, url, url_key, title,
    previous_rank, rank_ago (None: not listed then, or no list that long ago), movement
    (its event kind in this snapshot, or None), ranked_since (start of its current
    unbroken stretch on the list), ranked_since_first (True when that stretch began
    with the first valid list: it may be longer).
    """
    with store.engine.connect() as conn:
        latest = _latest(conn, source, window, _s.c.valid.is_(True))
        if latest is None:
            return None
        listed = entries(conn, latest["id"])
        previous = last_valid_before(conn, latest)
        then = _latest(conn, source, window, _s.c.valid.is_(True), _s.c.taken_at <= latest["taken_at"] - ago)
        first = conn.execute(
            select(func.min(_s.c.taken_at)).where(
                _s.c.source == source, _s.c.window == window, _s.c.valid.is_(True)
            )
        ).scalar_one()
        first = _aware(first, conn)
        newer_invalid = [
            dict(r)
            for r in conn.execute(
                select(_s.c.taken_at, _s.c.reason)
                .where(
                    _s.c.source == source,
                    _s.c.window == window,
                    _s.c.valid.is_(False),
                    _s.c.taken_at >= latest["taken_at"],
                    or_(_s.c.taken_at > latest["taken_at"], _s.c.id > latest["id"]),
                )
                .order_by(_s.c.taken_at, _s.c.id)
            ).mappings()
        ]
        prev_ranks = _ranks(conn, previous["id"]) if previous else {}
        then_ranks = _ranks(conn, then["id"]) if then else {}
        moves = dict(
            conn.execute(
                select(_ev.c.url_key, _ev.c.kind).where(
                    _ev.c.snapshot_id == latest["id"],
                    _ev.c.kind.in_(("entered", "returned", "climbed", "fell")),
                )
            ).all()
        )
        keys = [e["url_key"] for e in listed]
        stretch: dict[str, datetime] = {}
        if keys:
            rows = conn.execute(
                select(_ev.c.url_key, func.max(_ev.c.at))
                .where(
                    _ev.c.url_key.in_(keys),
                    _ev.c.window == window,
                    _ev.c.source == source,
                    _ev.c.kind.in_(ENTERING_KINDS),
                    _ev.c.at <= latest["taken_at"],
                )
                .group_by(_ev.c.url_key)
            ).all()
            for key, at in rows:
                stretch[key] = _aware(at, conn)
    out_entries = []
    for e in listed:
        since = stretch.get(e["url_key"])
        out_entries.append(
            {
                **e,
                "previous_rank": prev_ranks.get(e["url_key"]),
                "rank_ago": then_ranks.get(e["url_key"]),
                "movement": moves.get(e["url_key"]),
                "ranked_since": since or first,
                "ranked_since_first": since is None,
            }
        )
    return {
        "source": source,
        "window": window,
        "snapshot_id": latest["id"],
        "taken_at": latest["taken_at"],
        "previous_taken_at": previous["taken_at"] if previous else None,
        "ago_taken_at": then["taken_at"] if then else None,
        "newer_invalid": newer_invalid,
        "entries": out_entries,
    }


def latest_taken_at(store: Store, source: str, window: str) -> datetime | None:
    """When the newest list of a window (valid or not) was taken."""
    with store.engine.connect() as conn:
        latest = _latest(conn, source, window)
        return latest["taken_at"] if latest else None


def _aware(value: Any, conn: Connection) -> datetime:
    """An aggregate's time (SQLite hands back text) as an aware UTC datetime."""
    out = t.UTCDateTime().process_result_value(value, conn.dialect)
    assert out is not None
    return out


def _ranks(conn: Connection, snapshot_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(_e.c.url_key, func.min(_e.c.rank))
        .where(_e.c.snapshot_id == snapshot_id)
        .group_by(_e.c.url_key)
    ).all()
    return {key: int(rank) for key, rank in rows}
