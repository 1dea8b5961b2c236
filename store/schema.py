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
    Column("url", Text, nullable=False),  # as published, for links
    Column("url_key", Text, nullable=False, unique=True),  # canonical identity (store.urls)
    Column("source", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False, default="article"),  # article | pdf | item
    Column("section", Text),
    Column("title", Text, nullable=False),
    Column("published", UTCDateTime, index=True),
    Column("fetched", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
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
    Column("linked_at", UTCDateTime, nullable=False),
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
