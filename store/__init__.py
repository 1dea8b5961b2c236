"""The database: stories, runs, rankings and the alert outbox. The only place with SQL."""

from store.db import SaveResult, Store, StoreError, StoreMissing, StoryIn
from store.runs import utcnow
from store.urls import canonical_url, url_key
from store.versions import head_revisions

__all__ = [
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
