"""The database: stories, runs, rankings and the alert outbox. The only place with SQL."""

from store.db import RunCounts, SaveResult, Store, StoreError, StoreMissing, StoryIn, head_revisions, utcnow
from store.urls import canonical_url, url_key

__all__ = [
    "RunCounts",
    "SaveResult",
    "Store",
    "StoreError",
    "StoreMissing",
    "StoryIn",
    "canonical_url",
    "head_revisions",
    "url_key",
    "utcnow",
]
