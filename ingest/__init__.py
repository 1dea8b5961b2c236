"""What happens when something is saved: one function per event, in the order it happens,
inside the transaction that saves it (what commits with a story is exactly what will be
linked and sent; a failure rolls all of it back).

- a story saved:            save -> link copies -> alert outbox
- a ranking snapshot saved: save -> movements -> alert outbox

The crawl is handed :class:`Ingest` by whoever starts it (``defwatch crawl``:
scheduler/commands/crawl.py; ``scrapy crawl``: the ``DEFWATCH_INGEST`` setting); the page
worker (crawler/worker.py) calls it for every item and knows nothing of the stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from alerts.outbox import Outbox
from core.config import Config
from core.model import RankingSnapshot, Story
from rankings.movements import record_movements
from store import SaveResult, Store, StoryIn

if TYPE_CHECKING:
    from store.copies import CopyDetector

__all__ = ["CHANGED", "Ingest"]

CHANGED = ("new", "revised", "completed")  # a save that changed what is stored


class Ingest:
    """The ingest step for one store and configuration."""

    def __init__(self, store: Store, config: Config, copies: CopyDetector | None = None) -> None:
        self.store = store
        # Link detection (datasketch: numpy, scipy) is loaded where stories are stored, when
        # the first is: a crawl that hands the step over and stores nothing never pays for it.
        from store.copies import CopyDetector, CopySettings, official_sources

        if copies is None:  # the ministry's items head their groups
            origins = official_sources((s.name, s.kind) for s in config.sources)
            copies = CopyDetector.install(store, CopySettings(official_sources=origins))
        self.copies = copies
        self.outbox = Outbox.from_config(config)

    def save_story(self, story: StoryIn) -> SaveResult:
        """A story read: save it, link it to its copies, queue the alerts it calls for.
        Links come first so that a copy of an already-alerted story is known as a copy
        when the outbox decides."""
        with self.store.transaction() as conn:
            return self._story(conn, story)

    def save_stories(self, stories: list[StoryIn]) -> list[SaveResult]:
        """Stories read about the same time, each through the same steps, in one transaction
        (the page worker's batches)."""
        with self.store.transaction() as conn:
            return [self._after(conn, saved) for saved in self.store.save_story_rows(stories, conn)]

    def _story(self, conn: Connection, story: StoryIn) -> SaveResult:
        return self._after(conn, self.store.save_story_row(story, conn))

    def _after(self, conn: Connection, saved: tuple[SaveResult, dict[str, Any] | None]) -> SaveResult:
        result, row = saved
        if row is not None and result.status in CHANGED:
            grouped = self.copies(conn, row, result)  # the store's link detection reads the row
            self.outbox.on_story_saved(conn, Story.from_row(row), result, alone=not grouped)
        return result

    def save_ranking_snapshot(self, snapshot: RankingSnapshot) -> int:
        """A "most read" list read: save it, decide whether it can be trusted and store its
        movements, queue the alerts each new movement calls for."""
        with self.store.transaction() as conn:
            snapshot_id = self.store.save_ranking_snapshot(snapshot, conn)
            for movement in record_movements(conn, snapshot_id):
                self.outbox.enqueue_ranking(conn, movement)
        return snapshot_id
