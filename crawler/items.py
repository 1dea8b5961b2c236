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


@dataclass
class RankingItem:
    window: str  # 24h | 1w | 1m
    entries: list[dict[str, Any]]  # [{"rank": 1, "url": ..., "title": ...}, ...]
    valid: bool = True
    reason: str | None = None
