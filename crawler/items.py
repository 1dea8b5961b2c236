"""What spiders yield: stories and ranking snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class StoryItem:
    url: str
    title: str
    published: datetime | None
    body: str = ""
    summary: str = ""
    kind: str = "article"  # article | pdf | item
    section: str | None = None
    complete: bool = True  # False: only what a listing or feed said (title, date)
    extra: dict[str, Any] = field(default_factory=dict)
    # The link as the site gave it (absolute), when ``url`` is not exactly that.
    link: str | None = None
    # The fragment of ``url`` is part of the identity (items of a "what's new" list that
    # link anchors of one page, notices that all link one index page).
    fragment_key: bool = False
    # Earlier versions the same listing gave of this story (one page listed under several
    # titles), oldest first, as (title, summary, published): stored as its revisions.
    earlier: list[tuple[str, str, datetime | None]] = field(default_factory=list)


@dataclass
class RankingItem:
    window: str  # 24h | 1w | 1m
    entries: list[dict[str, Any]]  # [{"rank": 1, "url": ..., "title": ...}, ...]
    valid: bool = True
    reason: str | None = None
