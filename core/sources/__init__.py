"""The source kinds and the keys each takes. Adding a kind: a module here declaring its
options class (no Scrapy: the loader and the docs read it), and its line in KINDS."""

from __future__ import annotations

from core.sources.base import DEFAULT_TIMEZONE, SOURCE_KEYS, SourceOptions
from core.sources.feed import FeedOptions
from core.sources.jdefense import JDefenseOptions
from core.sources.mod import ModOptions
from core.sources.page import PageOptions

# The registration, in the order error messages and the docs list the kinds.
KINDS: tuple[type[SourceOptions], ...] = (JDefenseOptions, ModOptions, FeedOptions, PageOptions)


def source_kinds() -> dict[str, type[SourceOptions]]:
    """Each kind's options class by the name ``kind =`` gives it."""
    return {k.kind: k for k in KINDS}


__all__ = [
    "DEFAULT_TIMEZONE",
    "KINDS",
    "SOURCE_KEYS",
    "FeedOptions",
    "JDefenseOptions",
    "ModOptions",
    "PageOptions",
    "SourceOptions",
    "source_kinds",
]
