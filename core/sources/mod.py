"""Kind ``mod``: the Ministry of Defense, read from its feeds, its press-conference list and
its 人事発令 indexes (crawler/spiders/mod.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import opt
from core.sources.base import SourceOptions


@dataclass(frozen=True, kw_only=True)
class ModOptions(SourceOptions):
    kind: ClassVar[str] = "mod"
    summary: ClassVar[str] = "the Ministry of Defense: its feeds, kisha_ja.js and the 人事発令 indexes"

    feeds: tuple[str, ...] = opt(
        "list", ("/j/rss/news.xml", "/j/rss/update.xml"), "the ministry's feeds; the first is essential"
    )
    kisha: str = opt("str", "/j/press/kisha/kisha_ja.js", 'the press-conference list (a script; `""`: none)')
    jinji: tuple[str, ...] = opt(
        "list", ("/j/press/jinji/{year}/index.html",), "the 人事発令 indexes, `{year}` this year in Japan"
    )
    max_pdf_size: int | None = opt("size", 20 * 1000**2, "a PDF larger than this is not read")
    fetch_html: bool = opt("bool", True, "read each release's own page (`false`: the feeds' items only)")
