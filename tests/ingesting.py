"""A store whose ``save_story`` and ``save_ranking_snapshot`` go through the ingest step
(save, link copies, movements, alert outbox), as a crawl's items do: lets the store, rankings
and alerts tests save things one call at a time and see what a crawl would have done."""

from __future__ import annotations

from sqlalchemy import Connection

from core.config import Config, load_config
from core.model import RankingSnapshot
from ingest import Ingest
from store import SaveResult, Store, StoryIn
from store.copies import CopyDetector


class IngestingStore(Store):
    ingest: Ingest

    def save_story(self, story: StoryIn, conn: Connection | None = None) -> SaveResult:
        if conn is None:
            return self.ingest.save_story(story)
        return super().save_story(story, conn)

    def save_ranking_snapshot(self, snapshot: RankingSnapshot, conn: Connection | None = None) -> int:
        if conn is None:
            return self.ingest.save_ranking_snapshot(snapshot)
        return super().save_ranking_snapshot(snapshot, conn)


def ingesting(store: Store, config: Config | None = None, copies: CopyDetector | None = None) -> Store:
    """``store``, from now on saving through an :class:`Ingest` for ``config`` (default: the
    built-in configuration: no rules, no official source) and ``copies`` (default: the
    configuration's)."""
    ingest = Ingest(store, config or load_config(None, environ={}), copies)
    store.__class__ = IngestingStore
    assert isinstance(store, IngestingStore)
    store.ingest = ingest
    return store
