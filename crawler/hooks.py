"""What happens inside the transaction that stores a story or a ranking snapshot.

Order matters: cross-source link detection runs before the alert outbox, so that a copy
of an already-alerted story is known as a copy when the outbox decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.config import Config
from store import Store

if TYPE_CHECKING:
    from sqlalchemy import Connection


def install_hooks(store: Store, config: Config) -> None:
    """Register the story and snapshot hooks on ``store`` (idempotent per store)."""
    if getattr(store, "_defwatch_hooks_installed", False):
        return
    store._defwatch_hooks_installed = True  # type: ignore[attr-defined]
    # 1. cross-source links (store.copies); the ministry's items head their groups
    from store.copies import CopyDetector, CopySettings, official_sources

    origins = official_sources((s.name, s.kind) for s in config.sources)
    store.save_hooks.append(CopyDetector.install(store, CopySettings(official_sources=origins)))
    # 2. ranking movements: validity, movements, each new one handed to the alert outbox
    store.snapshot_hooks.append(movements_hook(config))
    # 3. the alert outbox: matches become deliveries in the story's own transaction
    from alerts.outbox import Outbox

    store.save_hooks.append(Outbox.from_config(config).on_story_saved)


def movements_hook(config: Config) -> Callable[[Connection, int], None]:
    """The snapshot hook: store the movements, and hand each new one to the alert outbox."""
    from alerts.outbox import enqueue_ranking_event
    from rankings.movements import record_movements

    def hook(conn: Connection, snapshot_id: int) -> None:
        for event in record_movements(conn, snapshot_id):
            enqueue_ranking_event(conn, config, event)

    return hook
