"""What every feed-reading spider takes from a feed: the document decoded and parsed, each
entry's link, title and categories."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from w3lib.html import remove_tags, replace_entities

from core.text import fold_whitespace
from crawler.encoding import Decoded, decode_document


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


# -- the document -------------------------------------------------------------------------

# XML 1.0 forbids these (and feedparser's strict parser stops at them); they are removed
# before parsing and counted.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PROLOG_ENCODING = re.compile(r"^(\s*<\?xml[^>]*?\sencoding\s*=\s*)([\"'])[^\"']*\2")


@dataclass
class FeedDocument:
    """A feed decoded as a browser would (crawler.encoding) and parsed by feedparser."""

    parsed: Any  # feedparser.FeedParserDict
    decoded: Decoded
    controls: int  # control characters removed
    items_cut: int = 0  # items past ``max_items``, left unread


_ITEM_END = re.compile(r"</(?:[\w-]+:)?(?:item|entry)\s*>")


def parse_feed_document(
    body: bytes, content_type: str, url: str, max_items: int | None = None
) -> FeedDocument:
    """Decode ``body`` ourselves (WHATWG labels, BOM, HTTP, prolog, detection), then give
    feedparser UTF-8 that says so: its own decoding reads Shift_JIS without the Windows
    characters and ``text/xml`` without a charset as US-ASCII.

    With ``max_items``, the items after that many are cut out before parsing (feedparser
    takes about a second per thousand items on a busy machine), keeping what follows the
    last item so the document stays well-formed."""
    decoded = decode_document(body, content_type)
    text, controls = _CONTROL.subn("", decoded.text)
    items_cut = 0
    if max_items is not None:
        ends = [m.end() for m in _ITEM_END.finditer(text)]
        if len(ends) > max_items:
            items_cut = len(ends) - max_items
            text = text[: ends[max_items - 1]] + text[ends[-1] :] if max_items else text[ends[-1] :]
    text = _PROLOG_ENCODING.sub(r"\1\2utf-8\2", text, count=1)
    media = (content_type.split(";", 1)[0].strip().lower() or "application/xml").replace(
        "text/xml", "application/xml"
    )
    import feedparser  # here: an unchanged feed (304) is never parsed, nor feedparser loaded

    parsed = feedparser.parse(
        text.encode("utf-8", "surrogatepass"),
        response_headers={"content-location": url, "content-type": f"{media}; charset=utf-8"},
    )
    return FeedDocument(parsed, decoded, controls, items_cut)


_NOT_IDEOGRAPHIC_SPACE = re.compile(r"[^\S\u3000]+")


def fold_spaces(text: str) -> str:
    """Whitespace runs as one space, ends stripped, but U+3000 kept: titles are stored as
    published (only matching normalises)."""
    return _NOT_IDEOGRAPHIC_SPACE.sub(" ", text).strip(" ")


def entry_title(entry: dict[str, Any]) -> str:
    """The title as one line of plain text, as published (U+3000, full-width digits kept)."""
    value = entry.get("title") or ""
    detail = entry.get("title_detail") or {}
    if detail.get("type", "text/html") not in ("text/plain", "text") and ("<" in value or "&" in value):
        value = replace_entities(remove_tags(value))
    return fold_spaces(value)


def damaged(*texts: str) -> bool:
    """Whether any text holds U+FFFD where bad bytes were (crawler.encoding)."""
    return any("\ufffd" in text for text in texts)
