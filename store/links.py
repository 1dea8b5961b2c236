"""Cross-source story links and the MinHash index that finds them: all the SQL of both.

A story is a *copy* when it has a ``story_links`` row as ``copy_id``; its group is that
row's ``origin_id`` and every copy linked to it. Any other story is the origin of its own
group (alone until something is linked to it). Groups are one level deep: an origin is
never a copy. Detection itself (shingles, MinHash, who becomes origin) is store.copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, func, insert, select, text, update

from store import schema as t

__all__ = [
    "also_urls",
    "candidates",
    "clear_index",
    "copies_of",
    "delete_signature",
    "find_story_id",
    "group_ids",
    "group_rows",
    "index_fingerprint",
    "is_copy",
    "is_linked",
    "link",
    "lock_index",
    "make_origin",
    "matching_rows",
    "origin_id",
    "save_signature",
    "set_index_fingerprint",
    "set_similarity",
    "signature",
    "stories_to_index",
]

# -- groups: what feeds, alerts and the CLI read ------------------------------------------


# Built once (compiled once, values bound per call): every story queued asks for its group.
_ORIGIN_OF = select(t.story_links.c.origin_id).where(t.story_links.c.copy_id == bindparam("story_id"))
_COPIES_OF = (
    select(t.story_links.c.copy_id)
    .where(t.story_links.c.origin_id == bindparam("origin"))
    .order_by(t.story_links.c.copy_id)
)
_LINKS_OF = select(t.story_links.c.copy_id, t.story_links.c.origin_id).where(
    (t.story_links.c.copy_id == bindparam("story_id")) | (t.story_links.c.origin_id == bindparam("story_id"))
)


def origin_id(conn: Connection, story_id: int) -> int:
    """The origin of the story's group: the story itself when it is not a copy."""
    found = conn.execute(_ORIGIN_OF, {"story_id": story_id}).scalar_one_or_none()
    return story_id if found is None else int(found)


def is_copy(conn: Connection, story_id: int) -> bool:
    return origin_id(conn, story_id) != story_id


def copies_of(conn: Connection, origin: int) -> list[int]:
    """The copies linked to ``origin``, oldest story first."""
    return [int(r) for r in conn.execute(_COPIES_OF, {"origin": origin}).scalars()]


def group_ids(conn: Connection, story_id: int) -> list[int]:
    """Every story of the group ``story_id`` belongs to: the origin first, then its copies.
    One query when the story is no copy (most are not): its links as copy or as origin."""
    origin = story_id
    copies = []
    for copy, of in conn.execute(_LINKS_OF, {"story_id": story_id}).all():
        if copy == story_id:
            origin = int(of)
        else:
            copies.append(int(copy))
    if origin != story_id:  # a copy: its origin's copies
        return [origin, *copies_of(conn, origin)]
    return [origin, *sorted(copies)]


def is_linked(conn: Connection, story_id: int) -> bool:
    """Whether the story is in a group with at least one other story."""
    return len(group_ids(conn, story_id)) > 1


def also_urls(conn: Connection, story_id: int) -> list[str]:
    """The URLs of the other stories of the group, in group order (origin first)."""
    members = [i for i in group_ids(conn, story_id) if i != story_id]
    if not members:
        return []
    link = func.coalesce(t.stories.c.link, t.stories.c.url)  # as published
    urls = dict(conn.execute(select(t.stories.c.id, link).where(t.stories.c.id.in_(members))).all())
    return [urls[i] for i in members if i in urls]


def group_rows(conn: Connection, story_id: int) -> list[dict[str, Any]]:
    """The group's stories as rows (origin first), each with ``similarity`` to the origin
    (None for the origin itself) and ``linked_at``."""
    ids = group_ids(conn, story_id)
    s, links = t.stories, t.story_links
    rows = conn.execute(
        select(
            s.c.id,
            s.c.url,
            func.coalesce(s.c.link, s.c.url).label("link"),  # as published
            s.c.source,
            s.c.title,
            s.c.published,
            s.c.fetched,
            s.c.updated,
            links.c.similarity,
            links.c.linked_at,
        )
        .select_from(s.outerjoin(links, links.c.copy_id == s.c.id))
        .where(s.c.id.in_(ids))
    ).mappings()
    by_id = {r["id"]: dict(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def find_story_id(conn: Connection, url_keys: Iterable[str]) -> int | None:
    """The id of the story stored under the first of ``url_keys`` that is stored."""
    for key in url_keys:
        found = conn.execute(select(t.stories.c.id).where(t.stories.c.url_key == key)).scalar_one_or_none()
        if found is not None:
            return int(found)
    return None


# -- changing groups (store.copies) ---------------------------------------------------------


def link(conn: Connection, origin: int, copy: int, similarity: float, now: datetime) -> None:
    """Make ``copy`` (not yet in any group) a copy of ``origin`` (an origin)."""
    conn.execute(
        insert(t.story_links).values(origin_id=origin, copy_id=copy, similarity=similarity, linked_at=now)
    )


def make_origin(conn: Connection, old_origin: int, new_origin: int, similarity: float, now: datetime) -> None:
    """Put ``new_origin`` (in no group yet) at the head of ``old_origin``'s group: the old
    origin's copies are re-pointed to it and the old origin becomes one of its copies."""
    conn.execute(
        update(t.story_links)
        .where(t.story_links.c.origin_id == old_origin)
        .values(origin_id=new_origin, linked_at=now)
    )
    link(conn, new_origin, old_origin, similarity, now)


def set_similarity(conn: Connection, copy: int, similarity: float) -> None:
    conn.execute(update(t.story_links).where(t.story_links.c.copy_id == copy).values(similarity=similarity))


# -- the persisted MinHash index ---------------------------------------------------------------


# Built once, like those above: every story stored runs them (store.copies).
_SIGNATURE_OF = select(t.copy_signatures.c.day, t.copy_signatures.c.signature).where(
    t.copy_signatures.c.story_id == bindparam("story_id")
)
_SAVE_SIGNATURE = insert(t.copy_signatures)
_SAVE_BANDS = insert(t.copy_bands)
_SHARED = func.count().label("shared")
_CANDIDATES = (
    select(t.copy_bands.c.story_id, _SHARED)
    .join(t.stories, t.stories.c.id == t.copy_bands.c.story_id)
    .where(
        t.copy_bands.c.band_key.in_(bindparam("band_keys", expanding=True)),
        t.copy_bands.c.day.between(bindparam("day_from"), bindparam("day_to")),
        t.copy_bands.c.story_id != bindparam("exclude_id"),
        t.stories.c.source != bindparam("exclude_source"),
    )
    .group_by(t.copy_bands.c.story_id)
    .order_by(_SHARED.desc(), t.copy_bands.c.story_id)
    .limit(bindparam("limit", type_=Integer))
)


def signature(conn: Connection, story_id: int) -> tuple[int, bytes] | None:
    """The stored (day, signature) of a story, if it is indexed."""
    row = conn.execute(_SIGNATURE_OF, {"story_id": story_id}).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def save_signature(
    conn: Connection, story_id: int, day: int, shingles: int, sig: bytes, band_keys: Sequence[int]
) -> None:
    """Index a story (not indexed yet): its signature and one bucket row per band."""
    conn.execute(_SAVE_SIGNATURE, {"story_id": story_id, "day": day, "shingles": shingles, "signature": sig})
    conn.execute(_SAVE_BANDS, [{"band_key": k, "day": day, "story_id": story_id} for k in band_keys])


def delete_signature(conn: Connection, story_id: int, day: int, band_keys: Sequence[int]) -> None:
    """Take a story out of the index; ``band_keys`` and ``day`` are those it was saved with."""
    b = t.copy_bands
    if band_keys:
        conn.execute(
            delete(b).where(b.c.band_key.in_(list(band_keys)), b.c.day == day, b.c.story_id == story_id)
        )
    conn.execute(delete(t.copy_signatures).where(t.copy_signatures.c.story_id == story_id))


def candidates(
    conn: Connection,
    band_keys: Sequence[int],
    day_from: int,
    day_to: int,
    exclude_id: int,
    exclude_source: str,
    limit: int,
) -> list[int]:
    """Stories of other sources sharing at least one band with ``band_keys`` and indexed
    between the two days, most shared bands first. Each band is one index seek, so the
    cost follows the size of the buckets, not of the store."""
    rows = conn.execute(
        _CANDIDATES,
        {
            "band_keys": list(band_keys),
            "day_from": day_from,
            "day_to": day_to,
            "exclude_id": exclude_id,
            "exclude_source": exclude_source,
            "limit": limit,
        },
    ).all()
    return [int(r[0]) for r in rows]


_MATCHING_COLUMNS = (
    t.stories.c.id,
    t.stories.c.source,
    t.stories.c.published,
    t.stories.c.fetched,
    t.stories.c.summary,
    t.stories.c.body,
    t.stories.c.complete,
)
_MATCHING_ROWS = select(*_MATCHING_COLUMNS).where(t.stories.c.id.in_(bindparam("ids", expanding=True)))


def matching_rows(conn: Connection, story_ids: Sequence[int]) -> list[dict[str, Any]]:
    """What matching reads of each story (text, source and time), in the order asked."""
    if not story_ids:
        return []
    rows = conn.execute(_MATCHING_ROWS, {"ids": list(story_ids)}).mappings()
    by_id = {r["id"]: dict(r) for r in rows}
    return [by_id[i] for i in story_ids if i in by_id]


def stories_to_index(conn: Connection, chunk: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Every complete story, oldest first (by published, else fetched), in chunks."""
    s = t.stories
    ids = list(
        conn.execute(
            select(s.c.id)
            .where(s.c.complete.is_(True))
            .order_by(func.coalesce(s.c.published, s.c.fetched), s.c.id)
        ).scalars()
    )
    for start in range(0, len(ids), chunk):
        yield matching_rows(conn, ids[start : start + chunk])


def clear_index(conn: Connection) -> None:
    conn.execute(delete(t.copy_bands))
    conn.execute(delete(t.copy_signatures))


def index_fingerprint(conn: Connection) -> str | None:
    """What the stored index was built with (store.copies.fingerprint), None if never built."""
    return conn.execute(select(t.copy_index.c.fingerprint).where(t.copy_index.c.id == 1)).scalar_one_or_none()


# pg_advisory_xact_lock's key for rebuilding the index: any constant, advisory locks being
# per database; "dwcopies" in ASCII.
_INDEX_LOCK_KEY = 0x6477636F70696573


def lock_index(conn: Connection) -> None:
    """Hold the right to rebuild the index until the transaction ends. Two processes starting
    on a store whose index is not built (two Scrapyd nodes, a crawl beside ``defwatch
    stories``) would otherwise both rebuild it, and on PostgreSQL the second's fingerprint
    row collides with the first's. The caller reads the fingerprint again once it holds this.
    On SQLite a write takes the database's one write lock (waiting out the busy timeout)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _INDEX_LOCK_KEY})
    else:
        conn.execute(delete(t.copy_index).where(t.copy_index.c.id == -1))


def set_index_fingerprint(conn: Connection, fingerprint: str, now: datetime) -> None:
    conn.execute(delete(t.copy_index))
    conn.execute(insert(t.copy_index).values(id=1, fingerprint=fingerprint, built_at=now))
