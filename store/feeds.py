"""What the feeds read from the store: the order of every story, the copy links, the stories
a feed shows, what changed since a crawl began, and (for /healthz) when each source was
first tried. Each function takes a Connection.

A feed entry is a group of stories (an origin and its copies, ``story_links``); the feeds
pick groups in their own code, from the light lists here, and load full rows only for the
few dozen stories they show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, union

from core.model import Story
from store import schema as t

_CHUNK = 500  # ids per IN (...): well under SQLite's parameter limit

# The columns an entry needs; text_norm lets the rules skip stories that cannot match.
_ENTRY_COLUMNS = (
    t.stories.c.id,
    t.stories.c.url,
    t.stories.c.link,
    t.stories.c.url_key,
    t.stories.c.source,
    t.stories.c.kind,
    t.stories.c.section,
    t.stories.c.title,
    t.stories.c.published,
    t.stories.c.fetched,
    t.stories.c.updated,
    t.stories.c.summary,
    t.stories.c.body,
    t.stories.c.text_norm,
)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def story_order(conn: Connection) -> list[tuple[int, str]]:
    """Every story as (id, source), newest first: by published date, or for a story
    without one by when it was first fetched."""
    when = func.coalesce(t.stories.c.published, t.stories.c.fetched)
    rows = conn.execute(
        select(t.stories.c.id, t.stories.c.source).order_by(when.desc(), t.stories.c.id.desc())
    ).all()
    return [(i, s) for i, s in rows]


def copy_links(conn: Connection) -> list[tuple[int, int, datetime]]:
    """Every link as (copy_id, origin_id, linked_at). A story is a copy iff it is here."""
    rows = conn.execute(
        select(t.story_links.c.copy_id, t.story_links.c.origin_id, t.story_links.c.linked_at).order_by(
            t.story_links.c.copy_id
        )
    ).all()
    return [(c, o, at) for c, o, at in rows]


def entry_rows(conn: Connection, ids: Iterable[int]) -> dict[int, Story]:
    """The stories with these ids, keyed by id, with what an entry shows."""
    wanted = sorted(set(ids))
    out: dict[int, Story] = {}
    for chunk in _chunks(wanted):
        for row in conn.execute(select(*_ENTRY_COLUMNS).where(t.stories.c.id.in_(chunk))).mappings():
            out[row["id"]] = Story.from_row(dict(row))
    return out


def normalized_texts(conn: Connection, batch: int = 2000) -> Iterator[tuple[int, str]]:
    """(id, text_norm) of every story, streamed in storage order (no sort: the caller
    orders what it keeps)."""
    result = conn.execution_options(yield_per=batch).execute(select(t.stories.c.id, t.stories.c.text_norm))
    for rows in result.partitions():
        yield from ((story_id, text) for story_id, text in rows)


def ids_by_url_key(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the stories stored under these url_keys, by key."""
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(set(keys))):
        rows = conn.execute(select(t.stories.c.url_key, t.stories.c.id).where(t.stories.c.url_key.in_(chunk)))
        out.update({key: story_id for key, story_id in rows})
    return out


def changed_since(conn: Connection, since: datetime) -> set[int]:
    """Stories saved or revised at or after ``since``, and both ends of every link made
    since then (a new copy changes its origin's entry and removes itself from feeds)."""
    saved = select(t.stories.c.id).where(t.stories.c.updated >= since)
    linked_origin = select(t.story_links.c.origin_id).where(t.story_links.c.linked_at >= since)
    linked_copy = select(t.story_links.c.copy_id).where(t.story_links.c.linked_at >= since)
    return {int(i) for i in conn.execute(union(saved, linked_origin, linked_copy)).scalars()}


def first_run_started(conn: Connection) -> dict[str, datetime]:
    """When each source's first recorded crawl run started."""
    rows = conn.execute(
        select(t.crawl_runs.c.source, func.min(t.crawl_runs.c.started)).group_by(t.crawl_runs.c.source)
    ).all()
    return {str(source): started for source, started in rows if started is not None}
