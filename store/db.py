"""The store: one object over one SQLAlchemy engine, migrated to the current schema when
opened. Every query in defwatch lives in this package."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, SQLAlchemyError

from core.model import RankingSnapshot
from core.text import content_hash, normalize
from store import schema as t
from store.runs import CrawlRecords, utcnow
from store.urls import canonical_url, key_of, url_key
from store.versions import alembic_config, at_heads

# The statements of a story's save, built once: SQLAlchemy then compiles each once and only
# binds the values (a statement built with its values, per story, cost more CPU in coercing
# them and computing its cache key than SQLite took to run it).
_STORY_BY_KEY = select(t.stories).where(t.stories.c.url_key == bindparam("key"))
_STORIES_BY_KEYS = select(t.stories).where(t.stories.c.url_key.in_(bindparam("keys", expanding=True)))
_STORY_BY_ID = select(t.stories).where(t.stories.c.id == bindparam("story_id"))
_INSERT_STORY = insert(t.stories)
_INSERT_STORY_RETURNING = insert(t.stories).returning(*t.stories.c)

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The store cannot be opened or used; the message is one line for the user."""


class StoreMissing(StoreError):
    """A read-only command found no store: nothing has been crawled into it yet."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no store at {where}: run `defwatch crawl` first")
        self.where = where


@dataclass
class StoryIn:
    """A story as a spider hands it to the store."""

    url: str
    source: str
    title: str
    published: datetime | None = None
    body: str = ""
    summary: str = ""
    kind: str = "article"
    section: str | None = None
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    keep_params: tuple[str, ...] = ()
    link: str | None = None  # as the site gave it (absolute); None: ``url`` is that link
    fragment_key: bool = False  # the URL's fragment is part of the story's identity
    # Versions the same listing gave before this one (oldest first; title, summary, published):
    # a new story records them as its revisions.
    earlier: tuple[tuple[str, str, datetime | None], ...] = ()


@dataclass(frozen=True)
class SaveResult:
    story_id: int
    status: str  # new | revised | completed (a title-only story now read in full) | unchanged


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


class Store(CrawlRecords):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, migrate: bool = True, revision: str = "heads", create: bool = True) -> Store:
        """Open (creating the SQLite file and its folder if needed) and migrate.

        With ``create=False`` (the read-only commands) a store that does not exist yet is
        not created: :class:`StoreMissing` says so instead."""
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(f"store.url: {url!r} is not a database URL") from None
        db_path = _sqlite_path(url)
        if db_path is not None and not create and not db_path.exists():
            raise StoreMissing(str(db_path))
        created = migrate and db_path is not None and not db_path.exists()
        # Traces of an earlier store next to a missing one (the lock file of its migrations,
        # its WAL files): it was deleted. (The run's own lock file is taken before this.)
        traces = (
            created
            and db_path is not None
            and any(Path(f"{db_path}{suffix}").exists() for suffix in (".migrate-lock", "-wal", "-shm"))
        )
        if db_path is not None:
            try:
                db_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"store: cannot create folder {db_path.parent}: {exc.strerror or exc}"
                ) from None
            if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
                raise StoreError(f"store: {db_path} is not readable and writable")
            if db_path.is_dir():
                raise StoreError(f"store: {db_path} is a directory, expected a database file")
        try:
            # A server's connections die under the pool when it restarts or ends a session
            # (an administrator, a failover, an idle timeout): each is tested as it is taken
            # from the pool and replaced when dead, so a restart between two saves costs none.
            server = parsed.get_backend_name() != "sqlite"
            engine = create_engine(url, future=True, pool_pre_ping=server)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"store: cannot use {parsed.render_as_string(hide_password=True)}: {exc}"
            ) from None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        store = cls(engine)
        if not create and db_path is None and not store._has_schema():
            engine.dispose()
            raise StoreMissing(parsed.render_as_string(hide_password=True))
        if migrate and not (revision == "heads" and at_heads(engine)):
            if db_path is not None:
                # Two processes opening a new store at once would both create the tables:
                # migrations run one process at a time.
                from filelock import FileLock

                with FileLock(f"{db_path}.migrate-lock", timeout=300):
                    store.migrate(revision)
            else:
                store.migrate(revision)
        if created and db_path is not None:
            # A deleted store, or a relative store.url read from another working folder, would
            # otherwise be replaced silently and every story found again alerted as new: a
            # warning where an earlier store left its files, else a debug line (-vv).
            log.log(
                logging.WARNING if traces else logging.DEBUG,
                "store %s did not exist%s: created a new, empty store; every story found will be "
                "new (and alerted). If you have a store, check [store] url and the working folder.",
                db_path.resolve(),
                " (though an earlier store left its files there)" if traces else "",
            )
        return store

    def migrate(self, revision: str = "heads") -> None:
        """Bring the schema to ``revision``; a no-op when already there."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(alembic_config(conn), revision)
        except DatabaseError as exc:  # locked, unreadable, or not a database at all (corrupt)
            raise StoreError(f"store: cannot open the database: {_first_line(exc)}") from None

    def _has_schema(self) -> bool:
        """Whether a server database already holds defwatch's tables (migrations ran once)."""
        try:
            with self.engine.connect() as conn:
                return inspect(conn).has_table("alembic_version")
        except DatabaseError as exc:
            raise StoreError(f"store: cannot open the database: {_first_line(exc)}") from None

    def current_revisions(self) -> set[str]:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def size_bytes(self) -> int | None:
        path = _sqlite_path(str(self.engine.url))
        if path is None or not path.exists():
            return None
        total = path.stat().st_size
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                total += extra.stat().st_size
        return total

    # -- stories -------------------------------------------------------------------------
    def known_keys(
        self, urls: Iterable[str], keep_params: Iterable[str] = (), fragment: bool = False
    ) -> set[str]:
        """The url_keys among ``urls`` that are already stored (complete or not)."""
        keys = {url_key(u, keep_params, fragment) for u in urls}
        if not keys:
            return set()
        found: set[str] = set()
        key_list = list(keys)
        with self.engine.connect() as conn:
            for i in range(0, len(key_list), 500):
                chunk = key_list[i : i + 500]
                found.update(
                    conn.execute(select(t.stories.c.url_key).where(t.stories.c.url_key.in_(chunk))).scalars()
                )
        return found

    def damaged_keys(self, keys: Iterable[str]) -> set[str]:
        """The url_keys among ``keys`` whose stored text was damaged by bad bytes
        (``extra["text_damaged"]``): a later fetch that reads them right repairs them."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(t.stories.c.url_key, t.stories.c.extra).where(
                        t.stories.c.url_key.in_(wanted[i : i + 500])
                    )
                )
                found.update(key for key, extra in rows if (extra or {}).get("text_damaged"))
        return found

    def is_known(self, url: str, keep_params: Iterable[str] = ()) -> bool:
        return bool(self.known_keys([url], keep_params))

    def has_stories(self, source: str) -> bool:
        """Whether ``source`` has stored anything."""
        with self.engine.connect() as conn:
            found = conn.execute(select(t.stories.c.id).where(t.stories.c.source == source).limit(1))
            return found.first() is not None

    def urls_by_number(self, source: str, digits: int, suffix: str = "", limit: int = 20) -> list[str]:
        """The URLs of ``source`` that end in ``digits`` characters and then ``suffix``
        (``.../000123.html``), highest number first: those characters compared as text,
        which orders zero-padded numbers. The caller checks that they are digits."""
        url = t.stories.c.url
        number = func.substr(url, func.length(url) - len(suffix) - digits + 1, digits)
        query = (
            select(url)
            .where(t.stories.c.source == source, url.like("%/" + "_" * digits + suffix))
            .order_by(number.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def save_story(self, story: StoryIn, conn: Connection | None = None) -> SaveResult:
        """Insert a new story, or update one whose title or body changed (keeping the old
        version as a revision). Unchanged stories are left alone."""
        if conn is None:
            with self.engine.begin() as own:
                return self.save_story(story, own)
        return self.save_story_row(story, conn)[0]

    def save_story_row(self, story: StoryIn, conn: Connection) -> tuple[SaveResult, dict[str, Any] | None]:
        """:meth:`save_story`, with the row as stored when the save changed it (None when
        unchanged): what :meth:`story_row` would read, returned by the write itself where
        the engine can (``RETURNING``), one query less for every story stored."""
        canonical = canonical_url(story.url, story.keep_params, story.fragment_key)
        key = key_of(canonical)
        row = conn.execute(_STORY_BY_KEY, {"key": key}).mappings().first()
        return self._save_story_row(story, conn, canonical, key, row)

    def save_story_rows(
        self, stories: list[StoryIn], conn: Connection
    ) -> Iterator[tuple[SaveResult, dict[str, Any] | None]]:
        """:meth:`save_story_row` for each story, in order, one at a time: the caller does
        its work on one story's result (links, outbox) before the next is saved. The rows
        already stored under their URLs are read in one query first, not one a story (a
        URL that comes twice is read again when its turn comes)."""
        keyed = []
        for story in stories:
            canonical = canonical_url(story.url, story.keep_params, story.fragment_key)
            keyed.append((story, canonical, key_of(canonical)))
        wanted = list(dict.fromkeys(key for _, _, key in keyed))
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), 500):
            for row in conn.execute(_STORIES_BY_KEYS, {"keys": wanted[i : i + 500]}).mappings():
                found[row["url_key"]] = dict(row)
        seen: set[str] = set()
        for story, canonical, key in keyed:
            current: RowMapping | Mapping[str, Any] | None
            if key in seen:  # saved earlier in this batch: as it is now
                current = conn.execute(_STORY_BY_KEY, {"key": key}).mappings().first()
            else:
                current = found.get(key)
                seen.add(key)
            yield self._save_story_row(story, conn, canonical, key, current)

    def _save_story_row(
        self,
        story: StoryIn,
        conn: Connection,
        canonical: str,
        key: str,
        row: RowMapping | Mapping[str, Any] | None,
    ) -> tuple[SaveResult, dict[str, Any] | None]:
        now = utcnow()
        digest = content_hash(story.title, story.body)
        values = {
            "url": canonical,
            "link": (story.link or story.url).strip(),
            "source": story.source,
            "kind": story.kind,
            "section": story.section,
            "title": story.title,
            "published": story.published,
            "summary": story.summary,
            "body": story.body,
            "text_norm": normalize(f"{story.title}\n{story.summary}\n{story.body}"),
            "content_hash": digest,
            "complete": story.complete,
            "extra": story.extra,
        }
        returning = conn.dialect.insert_returning and conn.dialect.update_returning
        if row is None:
            params = {"url_key": key, "fetched": now, "updated": now, **values}
            if returning:
                stored = dict(conn.execute(_INSERT_STORY_RETURNING, params).mappings().one())
                story_id = int(stored["id"])
            else:
                pk = conn.execute(_INSERT_STORY, params).inserted_primary_key
                assert pk is not None
                story_id, stored = int(pk[0]), None
            self._earlier_revisions(conn, story_id, story, now)
            return SaveResult(story_id, "new"), stored or self.story_row(conn, story_id)
        if row["content_hash"] == digest and (row["complete"] or not story.complete):
            return SaveResult(row["id"], "unchanged"), None
        if not story.complete and row["complete"]:
            return SaveResult(row["id"], "unchanged"), None  # never replace full text with a title-only copy
        # A title-only story now read in full is "completed", not "revised": the publisher
        # changed nothing, defwatch read more (rules on revisions do not hear of it). A
        # title-only story whose title changed (or whose damaged text was read right) is a
        # revision like any other.
        status = "completed" if story.complete and not row["complete"] else "revised"
        if status == "revised":
            conn.execute(
                insert(t.story_revisions).values(
                    story_id=row["id"],
                    title=row["title"],
                    summary=row["summary"],
                    body=row["body"],
                    content_hash=row["content_hash"],
                    valid_from=row["updated"],
                    replaced_at=now,
                )
            )
        values["published"] = story.published or row["published"]
        extra = {**(row["extra"] or {}), **story.extra}
        if extra.get("text_damaged") and not story.extra.get("text_damaged"):
            extra["text_damaged"] = False  # read right this time: repaired
        values["extra"] = extra
        change = update(t.stories).where(t.stories.c.id == row["id"]).values(updated=now, **values)
        if returning:
            stored = dict(conn.execute(change.returning(*t.stories.c)).mappings().one())
            return SaveResult(row["id"], status), stored
        conn.execute(change)
        return SaveResult(row["id"], status), self.story_row(conn, row["id"])

    @staticmethod
    def _earlier_revisions(conn: Connection, story_id: int, story: StoryIn, now: datetime) -> None:
        """The versions a listing gave before the one stored, as revisions: each valid from
        when it was published (else now) until the next one."""
        versions = [*story.earlier, (story.title, story.summary, story.published)]
        for (title, summary, listed), (_t, _s, following) in itertools.pairwise(versions):
            valid_from = listed or now
            conn.execute(
                insert(t.story_revisions).values(
                    story_id=story_id,
                    title=title,
                    summary=summary,
                    body="",
                    content_hash=content_hash(title, ""),
                    valid_from=valid_from,
                    replaced_at=max(following or now, valid_from),
                )
            )

    @staticmethod
    def story_row(conn: Connection, story_id: int) -> dict[str, Any]:
        """A stored story's row, read inside the transaction that saved it."""
        return dict(conn.execute(_STORY_BY_ID, {"story_id": story_id}).mappings().one())

    def get_story(self, url: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(t.stories).where(t.stories.c.url_key == url_key(url))).mappings().first()
            )
            return dict(row) if row else None

    def stories(self, source: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        query = select(t.stories).order_by(t.stories.c.published.desc(), t.stories.c.id.desc())
        if source is not None:
            query = query.where(t.stories.c.source == source)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def revisions(self, story_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.story_revisions)
                .where(t.story_revisions.c.story_id == story_id)
                .order_by(t.story_revisions.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def count_stories(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.stories)).scalar_one())

    # -- rankings --------------------------------------------------------------------------
    def save_ranking_snapshot(self, snapshot: RankingSnapshot, conn: Connection | None = None) -> int:
        """Store one ranking list (taken now unless it says when); its id."""
        if conn is None:
            with self.engine.begin() as own:
                return self.save_ranking_snapshot(snapshot, own)
        pk = conn.execute(
            insert(t.ranking_snapshots).values(
                source=snapshot.source,
                window=snapshot.window,
                taken_at=snapshot.taken_at or utcnow(),
                valid=snapshot.valid,
                reason=snapshot.reason,
                run_id=snapshot.run_id,
            )
        ).inserted_primary_key
        assert pk is not None
        snapshot_id = int(pk[0])
        rows = [
            {
                "snapshot_id": snapshot_id,
                "rank": e.rank,
                "url": e.url,
                "url_key": url_key(e.url),
                "title": e.title,
            }
            for e in snapshot.entries
        ]
        if rows:
            conn.execute(insert(t.ranking_entries), rows)
        return snapshot_id

    def ranking_snapshots(self, source: str, window: str) -> list[dict[str, Any]]:
        """Every snapshot of a window, oldest first, each with its entries."""
        with self.engine.connect() as conn:
            snaps = [
                dict(r)
                for r in conn.execute(
                    select(t.ranking_snapshots)
                    .where(t.ranking_snapshots.c.source == source, t.ranking_snapshots.c.window == window)
                    .order_by(t.ranking_snapshots.c.taken_at, t.ranking_snapshots.c.id)
                ).mappings()
            ]
            for s in snaps:
                s["entries"] = [
                    dict(e)
                    for e in conn.execute(
                        select(t.ranking_entries.c.rank, t.ranking_entries.c.url, t.ranking_entries.c.title)
                        .where(t.ranking_entries.c.snapshot_id == s["id"])
                        .order_by(t.ranking_entries.c.rank)
                    ).mappings()
                ]
            return snaps

    # -- outbox summary --------------------------------------------------------------------------
    def delivery_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)
            ).all()
        counts = {"pending": 0, "sent": 0, "failed": 0}
        counts.update({status: int(n) for status, n in rows})
        return counts


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
