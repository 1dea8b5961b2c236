"""Kind ``feed``: any RSS or Atom feed (crawler/spiders/feed.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import opt
from core.sources.base import SourceOptions


@dataclass(frozen=True, kw_only=True)
class FeedOptions(SourceOptions):
    kind: ClassVar[str] = "feed"
    summary: ClassVar[str] = "an RSS or Atom feed"

    fetch_articles: bool = opt("bool", False, "also read each new story's own page for its full text")
    max_items: int = opt(
        "int", 1000, "items read per fetch; the rest are counted (`items_over_limit`) and the run degraded"
    )
    language: str | None = opt(
        "str",
        None,
        "`ja`, `zh`, `ko`: the feed's language when its `<language>` does not say",
        shown_default="none",
    )
