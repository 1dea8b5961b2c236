"""What happens inside the transaction that stores a story or a ranking snapshot.

Order matters: cross-source link detection runs before the alert outbox, so that a copy
of an already-alerted story is known as a copy when the outbox decides.
"""

from __future__ import annotations

from scheduler.config import Config
from store import Store


def install_hooks(store: Store, config: Config) -> None:
    """Register the story and snapshot hooks on ``store`` (idempotent per store)."""
    if getattr(store, "_defwatch_hooks_installed", False):
        return
    store._defwatch_hooks_installed = True  # type: ignore[attr-defined]
    # 1. cross-source links (issue: one story, once)
    # 2. ranking movements (issue: reading rankings over time)
    # 3. the alert outbox (issue: alerts)
