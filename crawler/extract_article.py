"""Reading an article page from what a reader sees, not from one site's class names.

A news article page shows, in order: a heading (the title), sometimes a category list, a
date line, then the body; navigation, sidebars (rankings), related links and the footer sit
around it. :func:`read_article` finds the date line by its text, the title as the heading
right before it, and the body after it (:mod:`crawler.article_body`); when the page is built
differently it falls back to metadata (``<time>``, JSON-LD, ``og:``/``article:`` tags), then
to trafilatura (title, body) and htmldate (date), and says which route gave each field. The
body is checked against trafilatura's reading of the same page, and every field's check is
returned with it (``checks``), so that a half-read article is never taken for a whole one.

The ranking block is read by :mod:`crawler.ranking_reader`; the page by
:mod:`crawler.html_page`. Pure functions on text; nothing here fetches anything.
"""

from __future__ import annotations

import json  # noqa: F401 - kept for callers that parse JSON-LD through this module
import logging
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, time, tzinfo
from typing import Any  # noqa: F401
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from core.dates import JST, parse_date_line
from crawler.article_body import compare_with_extractor, non_body_text, read_body
from crawler.article_body import key_of as key
from crawler.checks import Check, failures
from crawler.html_page import (
    HEADINGS,
    HtmlPage,
    Link,
    clean,
    descendants,
    links,
    looks_truncated,
    parse_page,
)
from crawler.ranking_reader import RankingBlock, RankingSelectors, read_ranking

__all__ = [
    "ArticleFields",
    "ArticleSelectors",
    "HtmlPage",
    "Link",
    "RankingBlock",
    "RankingSelectors",
    "date_line_value",
    "descendants",
    "links",
    "looks_truncated",
    "parse_page",
    "read_article",
    "read_ranking",
]

log = logging.getLogger(__name__)

# Pages larger than this (characters) are not read a second time by trafilatura.
COMPARE_MAX = 2_000_000
# How far above the date line the title heading may sit (date line's parent, grandparent, ...).
_TITLE_REACH = 3
_clean = clean

# --- the date line -----------------------------------------------------------------------------------

# What may surround the date on a date line: digits and separators, weekday brackets and
# a short label (投稿日：, 更新, Posted on).
_DATE_LINE_CHARS = re.compile(r"[\d\s\-/.:年月日時分秒()（）\[\]【】,、]")
_DATE_LINE_MAX = 40
_DATE_LINE_LABEL_MAX = 12


def date_line_value(text: str, tz: tzinfo = JST) -> datetime | None:
    """The date a short date line shows (``2025-10-3 09:00``, ``投稿日：2025年10月3日``), or None.

    Unlike :func:`core.dates.parse_date_line`, which finds a date anywhere in a text, this
    only accepts text that is essentially a date: at most 40 characters, of which at most 12
    are not part of the date (a label such as 投稿日 or 更新). A body sentence that mentions
    a date is no date line.
    """
    normal = unicodedata.normalize("NFKC", text).strip()
    if not normal or len(normal) > _DATE_LINE_MAX:
        return None
    found = parse_date_line(normal, tz)
    if found is None:
        return None
    label = _DATE_LINE_CHARS.sub("", normal)
    if len(label) > _DATE_LINE_LABEL_MAX:
        return None
    return found


# --- the article ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleSelectors:
    """A source's own selectors for an article page (``[sources.selectors]``), used first:
    each a function from the page to the elements it selects."""

    title: Callable[[HtmlElement], list[HtmlElement]] | None = None
    date: Callable[[HtmlElement], list[HtmlElement]] | None = None
    body: Callable[[HtmlElement], list[HtmlElement]] | None = None


@dataclass
class ArticleFields:
    """What :func:`read_article` found, the route that gave each field, and its checks."""

    title: str | None = None
    published: datetime | None = None
    paragraphs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    category_links: list[Link] = field(default_factory=list)  # the visible ones, with their URLs
    section: str | None = None  # from metadata (JSON-LD articleSection, article:section)
    canonical_url: str | None = None
    truncated: bool = False
    routes: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    body_stopped_at: str | None = None  # the furniture box that ended the visible body

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def problem(self) -> str | None:
        """The failed checks as one line, or None when the article was read whole."""
        failed = failures(self.checks)
        return "; ".join(f"{c.name}: {c.detail}" for c in failed) if failed else None

    def detached(self) -> ArticleFields:
        """The same fields without references into the page's tree (which cannot be pickled
        to another process, and keep the whole tree alive)."""
        return replace(self, category_links=[Link(link.text, link.url) for link in self.category_links])


def read_article(
    page: HtmlPage,
    *,
    tz: tzinfo = JST,
    exclude: Collection[HtmlElement] = (),
    fallbacks: bool = True,
    selectors: ArticleSelectors | None = None,
    thorough: bool = False,
) -> ArticleFields:
    """Title, published time, body paragraphs and categories of an article page.

    Routes, in order of preference (``routes`` names the one used for each field):

    - published: ``selectors``, ``date-line`` (visible), ``time-element``, ``json-ld``,
      ``meta``, ``htmldate`` (markup only, never a date guessed from the text);
    - title: ``selectors``, ``visible`` (the heading right before the date line),
      ``heading`` (a visible heading that the page's own title confirms), ``og:title``,
      ``json-ld``, ``trafilatura``, ``html-title``;
    - body: ``selectors``, ``visible`` (what follows the date line), ``after-title``,
      ``trafilatura`` (when the visible reading covers much less of its text, or is empty);
    - categories: ``visible`` (the links between the title and the date line, else a few short
      links before the title or after the date line in the article's head), ``json-ld``.

    ``exclude`` are elements known to be no part of the article (e.g. a ranking block).
    With ``fallbacks=False`` trafilatura and htmldate are not consulted (nor compared).
    ``checks`` says what was verified: title, date, body (present, not cut off, agreeing
    with trafilatura's reading).

    Trafilatura reads the tree already parsed (a copy of it), in its fast mode: without its
    own comparison with justext and readability, which doubled the cost of every page and
    gave the same verdict on every page the tests read (every template family, the pages
    built to fail the check: tests/crawler/test_self_check.py). ``thorough`` runs that
    comparison too.
    """
    fields = ArticleFields(truncated=page.truncated, canonical_url=_canonical(page))
    skip = page.chrome | set(exclude)
    non_body = ""
    if selectors is not None:
        _selected(page, selectors, fields, tz)
    date_el, heading = _date_line(page, skip, tz, fields)
    if heading is None and "title" not in fields.routes:
        heading = _confirmed_heading(page, skip)
        if heading is not None:
            fields.title, fields.routes["title"] = _clean(heading.text_content()), "heading"
    elif heading is not None and "title" not in fields.routes:
        fields.title, fields.routes["title"] = _clean(heading.text_content()), "visible"
    if heading is not None and date_el is not None:
        between = [
            link
            for link in links(page, lambda _url: True, exclude=skip)
            if link.element is not None and page.end(heading) < page.order[link.element] < page.order[date_el]
        ]
        between = between or _around_head(page, heading, date_el, skip)
        if between:
            fields.category_links = between
            fields.categories, fields.routes["categories"] = [link.text for link in between], "visible"
    anchor, route = (date_el, "visible") if date_el is not None else (heading, "after-title")
    if anchor is not None and "body" not in fields.routes:
        reading = read_body(page, anchor, skip)
        if reading.paragraphs:
            fields.paragraphs, fields.routes["body"] = reading.paragraphs, route
            fields.body_stopped_at = reading.stopped_at
            non_body = non_body_text(page, anchor, reading.last, skip)
        else:
            non_body = non_body_text(page, anchor, anchor, skip)
    _metadata_fallbacks(page, fields, tz)
    if fallbacks:
        _extractor_fallbacks(page, fields, tz, non_body, thorough)
    _final_checks(fields)
    return fields


def _selected(page: HtmlPage, selectors: ArticleSelectors, fields: ArticleFields, tz: tzinfo) -> None:
    """The fields a source's selectors give (each held to the same checks as any route)."""
    if selectors.title is not None:
        found = selectors.title(page.doc)
        if found and _clean(found[0].text_content()):
            fields.title, fields.routes["title"] = _clean(found[0].text_content()), "selectors"
    if selectors.date is not None:
        found = selectors.date(page.doc)
        value = date_line_value(found[0].text_content(), tz) if found else None
        if value is None and found and found[0].get("datetime"):
            value = _iso(found[0].get("datetime") or "", tz)
        if value is not None:
            fields.published, fields.routes["published"] = value, "selectors"
    if selectors.body is not None:
        paragraphs: list[str] = []
        for el in selectors.body(page.doc):
            reading = read_body_of(el)
            paragraphs.extend(reading)
        if paragraphs:
            fields.paragraphs, fields.routes["body"] = paragraphs, "selectors"


def read_body_of(el: HtmlElement) -> list[str]:
    """The paragraphs of one element that a selector names as (part of) the body."""
    from crawler.article_body import BodyReading, _walk

    reading = BodyReading([])
    _walk(el, list(el), True, (), reading)
    return reading.paragraphs


def _final_checks(fields: ArticleFields) -> None:
    checks = fields.checks
    checks.append(Check("title", fields.title is not None, f"by {fields.routes.get('title', 'no route')}"))
    checks.append(
        Check("date", fields.published is not None, f"by {fields.routes.get('published', 'no route')}")
    )
    n = len(fields.paragraphs)
    checks.append(Check("body", n > 0, f"{n} paragraphs by {fields.routes.get('body', 'no route')}"))
    checks.append(
        Check(
            "complete",
            not fields.truncated,
            "the page ends before its closing tags" if fields.truncated else "",
        )
    )


def _around_head(
    page: HtmlPage, heading: HtmlElement, date_el: HtmlElement, skip: Collection[HtmlElement]
) -> list[Link]:
    """Category links before the title or after the date line, inside the box that holds
    both (the article's head): a few short labelled links, else none. Past the date line
    only when that box is a head of its own, not the whole article (whose body follows)."""
    around_date = {date_el, *date_el.iterancestors()}
    box = next((el for el in (heading, *heading.iterancestors()) if el in around_date), None)
    if box is None or box.tag in ("body", "html"):
        return []
    # A head holds the title, the date line and labels: little text besides the title.
    rest = len(_clean(box.text_content())) - len(_clean(heading.text_content()))
    own_head = box.tag not in ("article", "main") and rest < 200
    start, date_end = page.order[heading], page.end(date_el)
    found = [
        link
        for link in links(page, lambda _url: True, exclude=skip, within=box)
        if link.element is not None
        and (page.order[link.element] < start or (own_head and page.order[link.element] > date_end))
    ]
    if not found or len(found) > 5 or any(not link.text or len(link.text) > 30 for link in found):
        return []
    return found


def _canonical(page: HtmlPage) -> str | None:
    if page.canonical:
        return page.canonical
    og_url = page.meta.get("og:url")
    return urljoin(page.url, og_url) if og_url else None


def _date_line(
    page: HtmlPage, skip: Collection[HtmlElement], tz: tzinfo, fields: ArticleFields
) -> tuple[HtmlElement | None, HtmlElement | None]:
    """The date line element and the title heading before it (either may be None).

    The first date line that has a heading right before it wins; failing that, the first
    date line at all (its date is still the page's, the title comes from elsewhere).
    """
    body = page.doc.find("body")
    if body is None:
        return None, None
    first: tuple[HtmlElement, datetime] | None = None
    inside: set[HtmlElement] = set()
    for el in body.iter(lxml.etree.Element):
        if el in inside or el in skip or el.tag in HEADINGS or el.tag == "a":
            continue
        text = el.text_content()
        if len(text) > 4 * _DATE_LINE_MAX:
            continue
        value = date_line_value(text, tz)
        if value is None or any(d.tag in HEADINGS for d in el.iterdescendants()):
            continue
        inside |= descendants(el)  # the outermost element showing the line stands for it
        heading = _heading_before(page, el, skip)
        if heading is not None:
            fields.published, fields.routes["published"] = value, "date-line"
            return el, heading
        if first is None:
            first = (el, value)
    if first is not None:
        fields.published, fields.routes["published"] = first[1], "date-line"
        return first[0], None
    return None, None


def _heading_before(page: HtmlPage, el: HtmlElement, skip: Collection[HtmlElement]) -> HtmlElement | None:
    """The nearest non-empty heading before ``el`` inside one of its near ancestors."""
    position = page.order[el]
    for level, ancestor in enumerate(el.iterancestors()):
        if level >= _TITLE_REACH or ancestor.tag in ("body", "html"):
            break
        best = None
        for h in ancestor.iter(*HEADINGS):
            if page.order[h] < position and h not in skip and _clean(h.text_content()):
                best = h
        if best is not None:
            return best
    return None


def _confirmed_heading(page: HtmlPage, skip: Collection[HtmlElement]) -> HtmlElement | None:
    """A visible heading whose text the page's own metadata repeats (its <title> starts with
    it, or og:title / JSON-LD headline equals it): the title when there is no date line."""
    claims = [c for c in (page.meta.get("og:title"), _ld_value(page, "headline")) if c]
    for h in page.doc.iter(*HEADINGS):
        text = _clean(h.text_content())
        if h in skip or not text:
            continue
        if any(_clean(c) == text for c in claims):
            return h
        if page.head_title and page.head_title.startswith(text) and len(text) >= 4:
            rest = page.head_title[len(text) :].strip()
            if not rest or rest[0] in "|｜-–—:：/／«»":
                return h
    return None


def _ld_value(page: HtmlPage, key: str) -> str | None:
    for item in page.json_ld:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0].strip()
    return None


def _iso(value: str, tz: tzinfo) -> datetime | None:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return date_line_value(value, tz)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)


_META_DATES = ("article:published_time", "og:published_time", "datepublished", "pubdate", "date")


def _metadata_fallbacks(page: HtmlPage, fields: ArticleFields, tz: tzinfo) -> None:
    if fields.published is None:
        for el in page.doc.iter("time"):
            value = _iso(el.get("datetime") or "", tz) if el.get("datetime") else None
            if value is not None and el not in page.chrome:
                fields.published, fields.routes["published"] = value, "time-element"
                break
    if fields.published is None:
        raw = _ld_value(page, "datePublished")
        value = _iso(raw, tz) if raw else None
        if value is not None:
            fields.published, fields.routes["published"] = value, "json-ld"
    if fields.published is None:
        for key in _META_DATES:
            value = _iso(page.meta[key], tz) if page.meta.get(key) else None
            if value is not None:
                fields.published, fields.routes["published"] = value, "meta"
                break
    if fields.title is None:
        for route, claim in (
            ("og:title", page.meta.get("og:title")),
            ("json-ld", _ld_value(page, "headline")),
        ):
            if claim and _clean(claim):
                fields.title, fields.routes["title"] = _clean(claim), route
                break
    fields.section = _ld_value(page, "articleSection") or page.meta.get("article:section")
    if not fields.categories and fields.section:
        fields.categories, fields.routes["categories"] = [fields.section], "json-ld"


def _extractor_fallbacks(
    page: HtmlPage, fields: ArticleFields, tz: tzinfo, non_body: str = "", thorough: bool = False
) -> None:
    from crawler.extract import extract_article  # trafilatura: slow to import

    if page.size > COMPARE_MAX and fields.paragraphs and fields.title is not None:
        # A page this large is no plain article (real ones are well under 1 MB); reading it
        # twice would cost seconds. What was read stands, and the check says so.
        fields.checks.append(
            Check("body-agreement", True, f"not compared: the page has {page.size:,} characters")
        )
        return
    found = extract_article(
        page.doc, page.url, metadata=fields.title is None, title=fields.title, fast=not thorough
    )
    if found is not None and fields.title is None and found.title:
        fields.title, fields.routes["title"] = found.title, "trafilatura"
    theirs = found.text.split("\n") if found is not None else []
    if not fields.paragraphs:
        # What trafilatura reads when nothing follows the date line: never the title, the
        # date line or the page's furniture taken for a body.
        known = {key(line) for line in non_body.split("\n")} | {key(fields.title or "")}
        theirs = [line for line in theirs if key(line) and key(line) not in known]
        if theirs:
            fields.paragraphs, fields.routes["body"] = theirs, "trafilatura"
    else:
        kept, route, check = compare_with_extractor(
            fields.paragraphs, theirs, fields.title, non_body, fields.routes.get("body", "visible")
        )
        fields.checks.append(check)
        if route == "trafilatura":
            fields.paragraphs, fields.routes["body"] = kept, "trafilatura"
    if fields.title is None and page.head_title:
        fields.title, fields.routes["title"] = page.head_title, "html-title"
    if fields.published is None:
        from htmldate import find_date

        try:
            # Markup only: a date guessed from the text could be any date the article mentions.
            found_date = find_date(page.doc, extensive_search=False, original_date=True, url=page.url)
        except (ValueError, TypeError):
            found_date = None
        if found_date:
            try:
                day = datetime.fromisoformat(found_date)
            except ValueError:
                return
            fields.published = datetime.combine(day.date(), time(0, 0), tzinfo=tz)
            fields.routes["published"] = "htmldate"
