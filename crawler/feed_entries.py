"""What every feed-reading spider takes from a feedparser entry: its link and categories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crawler.text import fold_whitespace


def entry_link(entry: dict[str, Any]) -> str | None:
    """The entry's page: its alternate link, else ``link``, else a guid that is a URL."""
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    if entry.get("link"):
        return str(entry["link"])
    guid = entry.get("id") or ""
    if urlsplit(guid).scheme in ("http", "https"):
        return str(guid)
    return None


def entry_categories(entry: dict[str, Any], clean: Callable[[str], str] = fold_whitespace) -> list[str]:
    """The entry's categories (term or label), cleaned, without repeats, in order."""
    found: list[str] = []
    for tag in entry.get("tags") or []:
        term = clean(tag.get("term") or tag.get("label") or "")
        if term and term not in found:
            found.append(term)
    return found
