"""Reading the "most read" lists over time: whether a stored list can be trusted, and the
movements between consecutive valid snapshots of a window (found when a snapshot is
saved, recomputable from the snapshots).

The SQL is in ``store.rankings``; this module decides what a movement and a broken list are.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.model import Movement
from store import rankings as rk

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from store import Store

# A list that keeps fewer than this share of the last valid list's entries is a broken
# page (half-loaded, an error block), not a change in what readers read.
MIN_KEPT = 0.5
_OWN_REASON = re.compile(r"^(empty list|\d+ entr(y|ies) where the last valid list had \d+)$")


# -- movements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One story's change between two consecutive valid lists of a window, as found (the
    stored ``core.model.Movement`` adds its id, source, window and time)."""

    kind: str  # entered | left | climbed | fell | new_1 | returned
    url_key: str
    url: str
    title: str
    rank: int | None  # None: it left
    previous_rank: int | None  # None: it was not on the previous list


def _by_key(listed: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Entries by story, best rank first; a story listed twice counts once, at its best."""
    out: dict[str, Mapping[str, Any]] = {}
    for e in sorted(listed, key=lambda e: e["rank"]):
        out.setdefault(e["url_key"], e)
    return out


def invalid_reason(
    listed: Sequence[Mapping[str, Any]], last_valid: Sequence[Mapping[str, Any]] | None
) -> str | None:
    """Why a list cannot be trusted (None: it can): it is empty, or it kept fewer than half
    the entries of the last valid list of its window."""
    if not listed:
        return "empty list"
    have = len(_by_key(listed))
    had = len(_by_key(last_valid)) if last_valid else 0
    if have < had * MIN_KEPT:
        return f"{have} {'entry' if have == 1 else 'entries'} where the last valid list had {had}"
    return None


def movements(
    previous: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    listed_before: Container[str],
) -> list[Change]:
    """What changed from ``previous`` to ``current`` (both valid lists of one window), in
    reading order: a new #1, then the list top to bottom, then what left.
    ``listed_before`` holds the stories that were on an earlier valid list: one of them
    coming back is ``returned``, not ``entered``. A new #1 also has its own movement
    (entered, returned or climbed)."""
    prev, cur = _by_key(previous), _by_key(current)
    out: list[Change] = []
    if prev and cur:
        top, prev_top = next(iter(cur.values())), next(iter(prev.values()))
        if top["url_key"] != prev_top["url_key"]:
            was = prev.get(top["url_key"])
            out.append(_move("new_1", top, top["rank"], was["rank"] if was else None))
    for key, e in cur.items():
        p = prev.get(key)
        if p is None:
            out.append(_move("returned" if key in listed_before else "entered", e, e["rank"], None))
        elif e["rank"] != p["rank"]:
            out.append(_move("climbed" if e["rank"] < p["rank"] else "fell", e, e["rank"], p["rank"]))
    for key, p in prev.items():
        if key not in cur:
            out.append(_move("left", p, None, p["rank"]))
    return out


def _move(kind: str, e: Mapping[str, Any], rank: int | None, previous_rank: int | None) -> Change:
    return Change(kind, e["url_key"], e["url"], e["title"], rank, previous_rank)


# -- keeping movements: the snapshot hook and recomputing ------------------------------------


def record_movements(conn: Connection, snapshot_id: int) -> list[Movement]:
    """Decide whether a just-stored snapshot is valid and store its movements against the
    last valid snapshot of its window; return the new movements.

    A snapshot that arrives after a later one of its window (a backfill) changes what
    that later one is compared with: the window is recomputed instead."""
    snap = rk.snapshot(conn, snapshot_id)
    if snap is None:
        return []
    if rk.has_later_snapshot(conn, snap):
        return _recompute(conn, snap["source"], snap["window"])
    if not snap["valid"]:  # the spider already knew the list was broken
        return []
    listed = rk.entries(conn, snapshot_id)
    last = rk.last_valid_before(conn, snap)
    last_listed = rk.entries(conn, last["id"]) if last else None
    reason = invalid_reason(listed, last_listed)
    if reason is not None:
        rk.set_validity(conn, snapshot_id, False, reason)
        return []
    if last is None or last_listed is None:  # the first list of a window is the baseline
        return []
    known = {e["url_key"] for e in last_listed}
    before = rk.listed_before(conn, snap, (e["url_key"] for e in listed if e["url_key"] not in known))
    found = movements(last_listed, listed, before)
    return rk.insert_events(conn, [_event_row(snap, last["id"], m) for m in found])


def recompute_events(store: Store, source: str, window: str) -> list[Movement]:
    """Rebuild a window's validity decisions and movements from its stored snapshots.
    Movements that stay the same keep their ids; returns the movements that are new."""
    with store.transaction() as conn:
        return _recompute(conn, source, window)


def _recompute(conn: Connection, source: str, window: str) -> list[Movement]:
    wanted: dict[tuple[int, str, str], dict[str, Any]] = {}
    last: dict[str, Any] | None = None
    seen: set[str] = set()
    for snap in rk.window_snapshots(conn, source, window):
        if not snap["valid"] and not _OWN_REASON.match(snap["reason"] or ""):
            continue  # the spider's own verdict stands
        listed = snap["entries"]
        reason = invalid_reason(listed, last["entries"] if last else None)
        if reason is not None:
            if snap["valid"] or snap["reason"] != reason:
                rk.set_validity(conn, snap["id"], False, reason)
            continue
        if not snap["valid"]:
            rk.set_validity(conn, snap["id"], True, None)
        if last is not None:
            for m in movements(last["entries"], listed, seen):
                wanted[(snap["id"], m.kind, m.url_key)] = _event_row(snap, last["id"], m)
        seen.update(e["url_key"] for e in listed)
        last = snap
    stale, kept = [], set()
    for ev in rk.window_events(conn, source, window):
        key = (ev["snapshot_id"], ev["kind"], ev["url_key"])
        want = wanted.get(key)
        if want is None or any(want[k] != ev[k] for k in want):
            stale.append(ev["id"])
        else:
            kept.add(key)
    rk.delete_events(conn, stale)
    return rk.insert_events(conn, [row for key, row in wanted.items() if key not in kept])


def _event_row(snap: Mapping[str, Any], previous_id: int, m: Change) -> dict[str, Any]:
    return {
        "snapshot_id": snap["id"],
        "previous_snapshot_id": previous_id,
        "source": snap["source"],
        "window": snap["window"],
        "at": snap["taken_at"],
        "kind": m.kind,
        "url_key": m.url_key,
        "url": m.url,
        "title": m.title,
        "rank": m.rank,
        "previous_rank": m.previous_rank,
    }
