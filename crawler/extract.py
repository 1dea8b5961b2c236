"""Reading what a page or a feed says: an article page's main text (trafilatura), the plain
text of an HTML fragment (a feed item's summary), and dates as feeds and listings write them.

Pure functions on text (or a parsed page); nothing here fetches anything or raises on bad input.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from email.utils import parsedate_to_datetime

from lxml.html import HtmlElement
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

from core.dates import parse_date_line, plausible
from core.text import fold_whitespace

__all__ = [
    "Article",
    "ParsedDate",
    "doubt",
    "extract_article",
    "html_to_text",
    "parse_datetime",
    "read_feed_article",
]


@dataclass(frozen=True)
class Article:
    """The main content of an article page, without navigation, footers and the like."""

    title: str
    text: str  # paragraphs separated by newlines
    published: date | None  # the page's own date, as far as the page says one
    author: str | None = None


def extract_article(
    html: str | bytes | HtmlElement,
    url: str | None = None,
    *,
    metadata: bool = True,
    title: str | None = None,
    fast: bool = False,
) -> Article | None:
    """The main text of an article page, or None when the page has no readable text.

    ``html`` is the page's text, or its parsed tree (read from a copy: the tree is left as
    it was, and not parsed a second time). Without ``metadata`` the page's title, date and
    author are not looked for (half the work: for pages whose listing gave them); ``title``,
    when given, is the headline a first line equal to it is taken for. With ``fast``,
    trafilatura's own reading stands alone: its comparison with justext and readability
    (half its cost again) is left out."""
    import trafilatura  # slow to import; only sources with fetch_articles need it

    if isinstance(html, HtmlElement):
        html = copy.deepcopy(html)  # trafilatura prunes the tree it reads (2.3 copies it, 2.0 did not)
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            fast=fast,
            with_metadata=metadata,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
        )
    except (ValueError, TypeError, LookupError):  # undecodable or empty input
        return None
    if doc is None or isinstance(doc, dict):
        return None
    page_title = fold_whitespace(doc.title or "") if metadata else ""
    lines = [line for line in (fold_whitespace(x) for x in (doc.text or "").splitlines()) if line]
    if lines and lines[0] in (page_title, fold_whitespace(title or "")):
        lines = lines[1:]  # the headline, kept separately
    text = "\n".join(lines)
    if not text:
        return None
    return Article(
        title=page_title,
        text=text,
        published=_iso_date(doc.date) if metadata else None,
        author=fold_whitespace(doc.author) if metadata and doc.author else None,
    )


def read_feed_article(
    html: str | bytes,
    url: str | None = None,
    *,
    metadata: bool = True,
    title: str | None = None,
    summary: str = "",
) -> Article | None:
    """A feed item's article page read as :func:`extract_article` reads it in its full mode,
    at the cost of its fast mode wherever the fast reading passes :func:`doubt`'s checks.

    The page is parsed once; trafilatura reads it in fast mode (without its comparison with
    justext and readability, which is more than half its cost). Only a reading that is short,
    misses text of the item's ``summary`` that the page shows, or holds the page's furniture
    (:func:`doubt`) is read again in the full mode, which then stands (so a hard page keeps
    the full mode's reading, and a page even that cannot read degrades as before); except
    that a box of links ending the reading is dropped first, and the rest taken if it then
    passes every check. tests/crawler/test_feed_read.py shows, on every page kind the tests
    have, the result equal to the full mode's or names why it differs."""
    from trafilatura.utils import load_html  # what bare_extraction parses the bytes with

    try:
        tree = load_html(html)
    except (ValueError, TypeError, LookupError):
        return None
    if tree is None:
        return None
    fast = extract_article(tree, url, metadata=metadata, title=title, fast=True)
    if fast is not None:
        headline = title or fast.title
        if doubt(fast.text, tree, headline, summary) is None:
            return fast
        # A box of links after the story ("related links"): the full mode's comparison with
        # readability drops it, at six times the cost of the fast reading. Dropped here, the
        # reading is taken if it then passes every check.
        trimmed = _without_trailing_link_box(fast.text, tree)
        if trimmed and doubt(trimmed, tree, headline, summary) is None:
            return replace(fast, text=trimmed)
    return extract_article(tree, url, metadata=metadata, title=title)


# trafilatura's own floor (MIN_EXTRACTED_SIZE): below it, its full mode asks justext too.
_SHORT = 250
_SHINGLE = 8  # characters: a run that rarely occurs twice by chance, in Japanese or English
_SUMMARY_COVER = 0.6  # of the summary's runs the page shows, the reading must hold this share
_ELLIPSIS = re.compile(r"(?:\s*(?:\.\.\.|…|\[…\]|\[\.\.\.\]|続きを読む|Read more|Continue reading)\s*)+$")
# Where a page keeps what is no part of any article: a reading's line found here whole is furniture.
_FURNITURE = frozenset(("a", "header", "nav", "footer", "aside", "button", "label"))
_FURNITURE_NAME = re.compile(r"header|footer|nav|menu|sidebar|breadcrumb|widget|banner", re.IGNORECASE)


def doubt(text: str, tree: HtmlElement, title: str = "", summary: str = "") -> str | None:
    """Why a main-text reading of the page ``tree`` may be wrong, or None: it is shorter than
    trafilatura's own minimum; it holds the headline ``title`` inside its text (it ran over the
    article's head: category, date line, share buttons); one of its lines is a link's text or
    the text of a header, navigation, footer or sidebar, by tag, id or class (a related-links
    box, the site's tagline); or it misses most of the feed item's ``summary`` though the page
    shows that text. A doubt wrongly raised (an article inside ``class="entry-header"``) only
    costs the full mode's reading. Cheap: no second extractor; each text node looked at once."""
    if len(text) < _SHORT:
        return f"short ({len(text)} characters)"
    title = fold_whitespace(title)
    if title and title in text:
        return "the headline is inside the text"
    lines = set(text.splitlines())
    for el in tree.iter():  # the lines one text node makes (a link, a tagline)
        own = el.text if isinstance(el.tag, str) else None  # not a comment's
        for piece, holder in ((own, el), (el.tail, el.getparent())):  # a tail is its container's
            if not piece or piece.isspace() or holder is None:
                continue
            line = fold_whitespace(piece)
            if line in lines:
                furniture = next((x for x in (holder, *holder.iterancestors()) if _is_furniture(x)), None)
                if furniture is not None:
                    return f"a line of the page's {furniture.tag} is in the text: {line[:60]!r}"
    wanted = _shingles(_ELLIPSIS.sub("", fold_whitespace(summary)))
    flat = text.replace("\n", " ")
    if wanted and sum(run in flat for run in wanted) < _SUMMARY_COVER * len(wanted):
        page = fold_whitespace(" ".join(tree.itertext()))  # only now: most readings hold the summary
        on_page = {run for run in wanted if run in page}
        if on_page and sum(run in flat for run in on_page) < _SUMMARY_COVER * len(on_page):
            return "the reading misses the summary that the page shows"
    return None


_BOX_LINK_SHARE = 0.5  # a box whose text is at least this share link text is a box of links


def _without_trailing_link_box(text: str, tree: HtmlElement) -> str | None:
    """``text`` without its last lines when they are the text of the box of links that holds
    the link its last line reads (its heading and links), or None when they are not."""
    lines = text.splitlines()
    last = lines[-1] if lines else ""
    link = next((a for a in tree.iter("a") if fold_whitespace(a.text_content()) == last), None)
    box = link.getparent() if link is not None else None
    while box is not None and box.tag in _INLINE:
        box = box.getparent()
    if box is None or box.tag in ("body", "html"):
        return None
    box_text = fold_whitespace(box.text_content())
    link_text = sum(len(fold_whitespace(a.text_content())) for a in box.iter("a"))
    if link_text < _BOX_LINK_SHARE * len(box_text):
        return None
    parts = {fold_whitespace(node) for node in box.xpath(".//text()")}
    while lines and lines[-1] in parts:
        lines.pop()
    return "\n".join(lines) or None


_INLINE = frozenset(("a", "span", "b", "strong", "em", "i", "small", "li", "ul", "ol"))


def _is_furniture(el: HtmlElement) -> bool:
    return (
        el.tag in _FURNITURE
        or _FURNITURE_NAME.search(f"{el.get('id', '')} {el.get('class', '')}") is not None
    )


def _shingles(text: str) -> set[str]:
    return {text[i : i + _SHINGLE] for i in range(len(text) - _SHINGLE + 1)}


def _iso_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# -- HTML fragments -------------------------------------------------------------------------

# Tags that end a line of text: without this, "<p>one</p><p>two</p>" would read "onetwo".
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|table|tr|td|th|blockquote|pre|section|"
    r"article|header|footer|aside|figure|figcaption|address)\b[^>]*>",
    re.IGNORECASE,
)


def html_to_text(fragment: str, paragraphs: bool = False) -> str:
    """The readable text of an HTML fragment, entities decoded and whitespace folded.

    With ``paragraphs``, block elements (``<p>``, ``<li>``, ...) become line breaks;
    otherwise everything is one line.
    """
    if "<" not in fragment and "&" not in fragment:
        lines = fragment.splitlines()
    else:
        text = remove_tags_with_content(fragment, which_ones=("script", "style", "noscript"))
        text = _BLOCK_TAG.sub("\n", text)
        lines = replace_entities(remove_tags(text)).splitlines()
    kept = [line for line in (fold_whitespace(x) for x in lines) if line]
    return ("\n" if paragraphs else " ").join(kept)


# -- dates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedDate:
    """An aware datetime, and whether its zone was assumed (the text gave none)."""

    value: datetime
    tz_assumed: bool


def parse_datetime(text: str, tz: tzinfo, fmt: str | None = None) -> ParsedDate | None:
    """A date as feeds and listing pages write it, aware, or None when it is no date.

    With ``fmt`` (a ``strptime`` format) only that format is read. Otherwise: RFC 822
    (RSS ``pubDate``), ISO 8601 / W3C-DTF (Atom, ``dc:date``, ``<time datetime>``), then
    plain ``YYYY-MM-DD [HH:MM]`` lines, also ``YYYY/M/D`` and ``YYYY年M月D日``, then English
    dates such as "13 February 2025" and "Feb 13, 2025". A time
    without a zone, or RFC 822's "-0000" (zone unknown), is read in ``tz``.
    """
    text = fold_whitespace(text)
    if not text:
        return None
    if fmt is not None:
        try:
            return _aware(datetime.strptime(text, fmt), tz)
        except ValueError:
            return None
    for parse in (_rfc822, _iso8601):
        found = parse(text)
        if found is not None:
            return _aware(found, tz)
    line = parse_date_line(text, tz)
    if line is not None and plausible(line):
        return ParsedDate(line, True)
    for common in _ENGLISH_DATES:
        try:
            return _aware(datetime.strptime(text, common), tz)
        except ValueError:
            continue
    return None


# Day-first and month-first dates in English, as listing pages print them.
_ENGLISH_DATES = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y %H:%M", "%B %d, %Y %H:%M")


def _aware(value: datetime, tz: tzinfo) -> ParsedDate | None:
    if value.tzinfo is None or value.utcoffset() is None:
        parsed = ParsedDate(value.replace(tzinfo=tz), True)
    else:
        parsed = ParsedDate(value, False)
    return parsed if plausible(parsed.value) else None


def _rfc822(text: str) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):  # every RFC 822 date names its month
        return None
    try:
        value = parsedate_to_datetime(text)  # naive when the zone is -0000 or unknown (JST)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # email.utils reads a year under 100 as two digits ("0001" -> 2001): a year written with
    # four digits must be the year read.
    written = re.search(r"\d\s*[A-Za-z]{3,}\.?\s*(\d{3,})\b", text)
    if written is not None and int(written.group(1)) != value.year:
        return None
    return value


def _iso8601(text: str) -> datetime | None:
    candidate = text.replace("z", "Z")
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    try:
        return datetime.combine(date.fromisoformat(candidate), time(0, 0))
    except ValueError:
        return None
