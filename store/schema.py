"""The database schema (SQLAlchemy Core). Times are stored as naive UTC and handed back
timezone-aware (UTC); convert to JST only at the edges (feeds, terminal, payloads)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text (e.g. from an aggregate)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),  # canonical (store.urls), the identity's readable form
    Column("url_key", Text, nullable=False, unique=True),  # canonical identity (store.urls)
    Column("source", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False, default="article"),  # article | pdf | item
    Column("section", Text),
    Column("title", Text, nullable=False),
    Column("published", UTCDateTime, index=True),
    Column("fetched", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False, index=True),  # ix_stories_updated (0007_indexes)
    Column("summary", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("text_norm", Text, nullable=False, default=""),  # NFKC, folded: what matching reads
    Column("content_hash", String(64), nullable=False),
    Column(
        "complete", Boolean, nullable=False, default=True
    ),  # False: title/date only (e.g. challenged page)
    Column(
        "extra", JSON, nullable=False, default=dict
    ),  # per-source fields (categories, routes, era dates...)
)

story_revisions = Table(
    "story_revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),  # when this version was first stored
    Column("replaced_at", UTCDateTime, nullable=False),  # when a newer version replaced it
)

crawl_runs = Table(
    "crawl_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime),
    Column("outcome", String(16), nullable=False, default="running"),  # running ok degraded failed timeout
    Column("requests", Integer, nullable=False, default=0),
    Column("new_stories", Integer, nullable=False, default=0),
    Column("revised", Integer, nullable=False, default=0),
    Column("known_skipped", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("reason", Text),
    Column("stats", JSON, nullable=False, default=dict),  # counters by reason, e.g. {"challenged": 3}
    Index("ix_crawl_runs_source_started", "source", "started"),
)

http_state = Table(
    "http_state",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("checked", UTCDateTime, nullable=False),
)

# -- revision 0002 ---------------------------------------------------------------------

story_links = Table(
    "story_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("origin_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("copy_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("similarity", Float, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False, index=True),  # ix_story_links_linked_at (0007_indexes)
)

ranking_snapshots = Table(
    "ranking_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("window", String(8), nullable=False),  # 24h | 1w | 1m
    Column("taken_at", UTCDateTime, nullable=False),
    Column("valid", Boolean, nullable=False, default=True),
    Column("reason", Text),
    Column("run_id", Integer, ForeignKey("crawl_runs.id", ondelete="SET NULL")),
    Index("ix_ranking_snapshots_source_window_taken", "source", "window", "taken_at"),
)

ranking_entries = Table(
    "ranking_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("snapshot_id", Integer, ForeignKey("ranking_snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("url_key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Index("ix_ranking_entries_snapshot_rank", "snapshot_id", "rank"),
    Index("ix_ranking_entries_url_key", "url_key", "snapshot_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(64), primary_key=True),  # stable: derived from (subject, rule, channel)
    Column("rule", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("kind", String(16), nullable=False, default="story"),  # story | ranking | ops | test
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False, default="pending"),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created", UTCDateTime, nullable=False),
    Column("next_attempt", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Column("payload", JSON, nullable=False, default=dict),
    Index("ix_deliveries_status_next", "status", "next_attempt"),
)

# -- revision 0005: the alert outbox (issue: alerts) -----------------------------------
# A digest's members share `batch` (the digest's own stable id, fixed when it is formed so
# every retry sends the same id); `queued` is when a delivery last entered the queue
# (enqueued, or put back by `defwatch alerts --retry-failed`): the give-up age counts from it.

deliveries.append_column(Column("batch", String(64)))
deliveries.append_column(Column("queued", UTCDateTime))
Index("ix_deliveries_batch", deliveries.c.batch)

# -- revision 0005b: give-up counted from the first attempt; per-target progress ----------
# `first_attempt`: when the delivery was first tried (or its channel first failed with it
# due); the give-up age counts from it, never from queueing. `targets_done`: for a channel
# with several targets (Apprise URLs), the keys of those that already have the delivery.

deliveries.append_column(Column("first_attempt", UTCDateTime))
deliveries.append_column(Column("targets_done", JSON))

# -- revision 0008_deliveries_story: a story's deliveries found by index (every story stored
# asks whether its group already has one: store.outbox.group_delivery) -----------------------
Index("ix_deliveries_story", deliveries.c.story_id)

ops_states = Table(
    "ops_states",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # ok | degraded | failing
    Column("since", UTCDateTime, nullable=False),
    Column("run_id", Integer),  # the run that changed the state
    Column("reason", Text),
)

# -- revision 0004: ranking movements (store/rankings.py) -------------------------------
# One row per movement of one story between two consecutive valid snapshots of a window.
# Derived from ranking_snapshots/ranking_entries (rankings.movements.recompute_events can
# rebuild it); (snapshot_id, kind, url_key) identifies a movement across rebuilds.

ranking_events = Table(
    "ranking_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("snapshot_id", Integer, ForeignKey("ranking_snapshots.id", ondelete="CASCADE"), nullable=False),
    Column(
        "previous_snapshot_id", Integer, ForeignKey("ranking_snapshots.id", ondelete="SET NULL")
    ),  # the valid snapshot it was compared with
    Column("source", String(64), nullable=False),
    Column("window", String(8), nullable=False),  # 24h | 1w | 1m
    Column("at", UTCDateTime, nullable=False),  # the snapshot's taken_at
    Column("kind", String(16), nullable=False),  # entered left climbed fell new_1 returned
    Column("url_key", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("rank", Integer),  # None for left
    Column("previous_rank", Integer),  # None for entered, returned
    Index("uq_ranking_events_snapshot_kind_url_key", "snapshot_id", "kind", "url_key", unique=True),
    Index("ix_ranking_events_source_window_at", "source", "window", "at"),
    Index("ix_ranking_events_window_at", "window", "at"),
    Index("ix_ranking_events_url_key_window_at", "url_key", "window", "at"),
    Index("ix_ranking_events_previous_snapshot_id", "previous_snapshot_id"),
)
# One story's rank history (store.rankings.rank_history) read from the index alone.
Index(
    "ix_ranking_entries_url_key_snapshot_rank",
    ranking_entries.c.url_key,
    ranking_entries.c.snapshot_id,
    ranking_entries.c.rank,
)

# -- revision 0003: cross-source copies (store/links.py, store/copies.py) ----------------
# What link detection needs to stay sublinear across restarts: each indexed story's MinHash
# signature, one bucket row per LSH band (looked up by band_key, then day), and what the
# index was built with, so that a change of parameters or of datasketch rebuilds it.
# `day` is days since 1970-01-01 (UTC) of the story's published time, else fetched time.
# copy_bands has no foreign key (a cascade would scan it): a deleted story's buckets are
# dropped by the join with stories when candidates are read.

from sqlalchemy import BigInteger, LargeBinary  # noqa: E402

copy_signatures = Table(
    "copy_signatures",
    metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, nullable=False),
    Column("shingles", Integer, nullable=False),  # distinct shingles of the matching text
    Column("signature", LargeBinary, nullable=False),  # MinHash values, uint32 little-endian
)

copy_bands = Table(
    "copy_bands",
    metadata,
    Column("band_key", BigInteger, primary_key=True),  # hash of (band number, band's values)
    Column("day", Integer, primary_key=True),
    Column("story_id", Integer, primary_key=True),
    sqlite_with_rowid=False,  # the primary key is the lookup index: one B-tree, not two
)

copy_index = Table(
    "copy_index",
    metadata,
    Column("id", Integer, primary_key=True),  # one row
    Column("fingerprint", String(64), nullable=False),  # store.copies.fingerprint()
    Column("built_at", UTCDateTime, nullable=False),
)

# -- revision 0006_link: links as published ---------------------------------------------
# The URL exactly as the site gave it (made absolute): what feeds, alerts and pages show.
# ``url`` stays the canonical form; a row from before the revision has ``link`` = ``url``.
stories.append_column(Column("link", Text))
