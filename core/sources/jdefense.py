"""Kind ``jdefense``: J-Defense, a site without a feed, read by its structure
(crawler/spiders/jdefense.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import opt
from core.sources.base import SourceOptions


@dataclass(frozen=True, kw_only=True)
class JDefenseOptions(SourceOptions):
    kind: ClassVar[str] = "jdefense"
    summary: ClassVar[str] = "J-Defense: home, section and ranking pages, and the next article ids"

    sections: tuple[str, ...] | None = opt(
        "list",
        None,
        'the sections read (path segments, e.g. `["mod", "world"]`)',
        shown_default="every section the home page's menu links",
    )
    selectors: dict[str, str] | None = opt(
        "selectors",
        None,
        "`[sources.selectors]`: the site's own selectors, used first (below)",
        shown_default="none",
    )
    probe_misses: int = opt(
        "int", 5, "probing the next article ids ends after this many in a row answer nothing"
    )
    probe_max: int = opt("int", 50, "article ids probed at most per run")
