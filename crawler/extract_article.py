"""Reading an article page from what a reader sees, not from one site's class names.

A news article page shows, in order: a heading (the title), sometimes a category list, a
date line, then the body paragraphs; navigation, sidebars (rankings), related links and the
footer sit around it. :func:`read_article` finds the date line by its text, the title as the
heading right before it, and the body as the paragraphs after it; when the page is built
differently it falls back to metadata (``<time>``, JSON-LD, ``og:``/``article:`` tags), then
to trafilatura (title, body) and htmldate (date), and says which route gave each field.

:func:`read_ranking` reads a tabbed "most read" block (a heading, tab labels, one ordered
list of links per tab) the same way. Pure functions on text; nothing here fetches anything.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, tzinfo
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from crawler.dates import JST, parse_date_line

__all__ = [
    "ArticleFields",
    "HtmlPage",
    "Link",
    "RankingBlock",
    "date_line_value",
    "links",
    "looks_truncated",
    "parse_page",
    "read_article",
    "read_ranking",
]

log = logging.getLogger(__name__)

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Page furniture: never the title, the date line or the body.
_CHROME_TAGS = frozenset({"nav", "footer", "aside", "form", "menu"})
_CHROME_ROLES = frozenset({"navigation", "contentinfo", "complementary", "banner", "search", "menu"})
_DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "button", "select")
# How far above the date line the title heading may sit (date line's parent, grandparent, ...).
_TITLE_REACH = 3
_WS = re.compile(r"[ \t\r\n\f\v]+")


# --- the page -------------------------------------------------------------------------------------


@dataclass
class HtmlPage:
    """A parsed page with what the readers below share: metadata read before the scripts
    were dropped, and each element's position in document order."""

    url: str
    doc: HtmlElement
    meta: dict[str, str]  # <meta property|name|itemprop> (lower-cased) -> content, first wins
    json_ld: list[dict[str, Any]]  # every JSON-LD object, @graph members flattened
    head_title: str | None  # <title>
    canonical: str | None  # <link rel=canonical>, absolute
    truncated: bool  # the HTML stops before its closing tags

    @cached_property
    def _absolute(self) -> dict[str, str]:
        return {}

    def absolute(self, href: str) -> str:
        """``href`` made absolute against the page's URL (remembered: pages repeat links)."""
        url = self._absolute.get(href)
        if url is None:
            url = self._absolute[href] = urljoin(self.url, href)
        return url

    @cached_property
    def order(self) -> dict[HtmlElement, int]:
        return {el: i for i, el in enumerate(self.doc.iter(lxml.etree.Element))}

    def end(self, el: HtmlElement) -> int:
        """The position of the last element inside ``el`` (``el``'s own when it is empty)."""
        last = el
        for last in el.iter(lxml.etree.Element):  # noqa: B007 - the last one is wanted
            pass
        return self.order[last]

    @cached_property
    def chrome(self) -> frozenset[HtmlElement]:
        """Every element inside navigation, sidebars, forms, the footer, or a page header."""
        found: set[HtmlElement] = set()
        for el in self.doc.iter(lxml.etree.Element):
            if el in found:
                continue
            role = (el.get("role") or "").lower()
            if (
                el.tag in _CHROME_TAGS
                or role in _CHROME_ROLES
                or (el.tag == "header" and not _has_ancestor(el, ("article", "main")))
            ):
                found.update(el.iter(lxml.etree.Element))
        return frozenset(found)


def looks_truncated(html: str) -> bool:
    """Whether a page stops before its end: neither ``</body>`` nor ``</html>`` near the end.

    A server that drops the connection mid-page without a Content-Length, or a proxy that
    cuts it, leaves an HTML document that parses fine but is missing its end.
    """
    tail = html[-4096:].lower()
    return "</html" not in tail and "</body" not in tail


def parse_page(html: str, url: str) -> HtmlPage | None:
    """Parse ``html`` (already decoded) for the readers below; None when it is no HTML."""
    if not html or not html.strip():
        return None
    try:
        doc = lxml.html.document_fromstring(html)
    except ValueError:
        # lxml refuses str input that carries an XML encoding declaration.
        doc = lxml.html.document_fromstring(html.encode("utf-8"), parser=_utf8_parser())
    except lxml.etree.ParserError:
        return None
    meta: dict[str, str] = {}
    for el in doc.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content is not None and key not in meta:
            meta[key] = content.strip()
    json_ld = _json_ld(doc)
    title_el = doc.find(".//title")
    head_title = _clean(title_el.text_content()) if title_el is not None else None
    canonical = None
    for el in doc.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split() and el.get("href"):
            canonical = urljoin(url, el.get("href", "").strip())
            break
    for el in list(doc.iter(*_DROPPED_TAGS)):
        _drop(el)
    for el in list(doc.iter(lxml.etree.Comment)):
        _drop(el)
    for br in doc.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return HtmlPage(
        url=url,
        doc=doc,
        meta=meta,
        json_ld=json_ld,
        head_title=head_title or None,
        canonical=canonical,
        truncated=looks_truncated(html),
    )


def _utf8_parser() -> lxml.html.HTMLParser:
    return lxml.html.HTMLParser(encoding="utf-8")


def _drop(el: Any) -> None:
    """Remove ``el`` and what it holds, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    parent.remove(el)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _json_ld(doc: HtmlElement) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
            elif isinstance(item, list):
                stack.extend(item)
    return found


# --- text ------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """One line, as written: ASCII whitespace runs (markup line breaks) folded; U+3000 and
    every other character kept, since titles are stored exactly as displayed."""
    return _WS.sub(" ", text).strip(" \t\r\n\f\v")


def _clean_block(text: str) -> str:
    """A paragraph: each line (``<br>``) cleaned, empty lines dropped."""
    return "\n".join(line for line in (_clean(x) for x in text.split("\n")) if line)


def _has_ancestor(el: HtmlElement, tags: Collection[str]) -> bool:
    return any(a.tag in tags for a in el.iterancestors())


@dataclass(frozen=True)
class Link:
    text: str
    url: str  # absolute
    element: HtmlElement | None = field(default=None, compare=False, repr=False)  # None: detached


def links(
    page: HtmlPage,
    accept: Callable[[str], bool],
    *,
    exclude: Collection[HtmlElement] = (),
    within: HtmlElement | None = None,
) -> list[Link]:
    """Links in document order (inside ``within``, the whole page by default) whose
    absolute URL ``accept`` takes, outside ``exclude``."""
    out = []
    for a in (page.doc if within is None else within).iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")) or a in exclude:
            continue
        url = page.absolute(href)
        if accept(url):
            out.append(Link(_clean(a.text_content()), url, a))
    return out


def descendants(el: HtmlElement) -> set[HtmlElement]:
    return set(el.iter(lxml.etree.Element))


# --- the date line -----------------------------------------------------------------------------------

# What may surround the date on a date line: digits and separators, weekday brackets and
# a short label (投稿日：, 更新, Posted on).
_DATE_LINE_CHARS = re.compile(r"[\d\s\-/.:年月日時分秒()（）\[\]【】,、]")
_DATE_LINE_MAX = 40
_DATE_LINE_LABEL_MAX = 12


def date_line_value(text: str, tz: tzinfo = JST) -> datetime | None:
    """The date a short date line shows (``2025-10-3 09:00``, ``投稿日：2025年10月3日``), or None.

    Unlike :func:`crawler.dates.parse_date_line`, which finds a date anywhere in a text, this
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


@dataclass
class ArticleFields:
    """What :func:`read_article` found, and the route that gave each field."""

    title: str | None = None
    published: datetime | None = None
    paragraphs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    category_links: list[Link] = field(default_factory=list)  # the visible ones, with their URLs
    section: str | None = None  # from metadata (JSON-LD articleSection, article:section)
    canonical_url: str | None = None
    truncated: bool = False
    routes: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

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
) -> ArticleFields:
    """Title, published time, body paragraphs and categories of an article page.

    Routes, in order of preference (``routes`` names the one used for each field):

    - published: ``date-line`` (visible), ``time-element``, ``json-ld``, ``meta``, ``htmldate``
      (markup only, never a date guessed from the text);
    - title: ``visible`` (the heading right before the date line), ``heading`` (a visible
      heading that the page's own title confirms), ``og:title``, ``json-ld``,
      ``trafilatura``, ``html-title``;
    - body: ``visible`` (the paragraphs after the date line, in the container of the first
      one), ``after-title`` (the same after the title heading), ``trafilatura``;
    - categories: ``visible`` (the links between the title and the date line), ``json-ld``.

    ``exclude`` are elements known to be no part of the article (e.g. a ranking block).
    With ``fallbacks=False`` trafilatura and htmldate are not consulted.
    """
    fields = ArticleFields(truncated=page.truncated, canonical_url=_canonical(page))
    skip = page.chrome | set(exclude)
    date_el, heading = _date_line(page, skip, tz, fields)
    if heading is not None:
        fields.title, fields.routes["title"] = _clean(heading.text_content()), "visible"
    else:
        heading = _confirmed_heading(page, skip)
        if heading is not None:
            fields.title, fields.routes["title"] = _clean(heading.text_content()), "heading"
    if heading is not None and date_el is not None:
        between = [
            link
            for link in links(page, lambda _url: True, exclude=skip)
            if link.element is not None and page.end(heading) < page.order[link.element] < page.order[date_el]
        ]
        if between:
            fields.category_links = between
            fields.categories, fields.routes["categories"] = [link.text for link in between], "visible"
    anchor, route = (date_el, "visible") if date_el is not None else (heading, "after-title")
    if anchor is not None:
        paragraphs = _paragraphs_after(page, anchor, skip)
        if paragraphs:
            fields.paragraphs, fields.routes["body"] = paragraphs, route
    _metadata_fallbacks(page, fields, tz)
    if fallbacks:
        _extractor_fallbacks(page, fields, tz)
    return fields


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


def _paragraphs_after(page: HtmlPage, anchor: HtmlElement, skip: Collection[HtmlElement]) -> list[str]:
    """The paragraphs after ``anchor`` in the container of the first one.

    Staying in one container leaves out paragraphs in related-link boxes, share bars and
    footers that follow the body; paragraphs that are only a link are left out too.
    """
    start = page.end(anchor)
    container = None
    paragraphs = []
    for p in page.doc.iter("p"):
        if page.order[p] <= start or p in skip or _is_link_only(p):
            continue
        text = _clean_block(p.text_content())
        if not text:
            continue
        if container is None:
            container = p.getparent()
        if p.getparent() is container:
            paragraphs.append(text)
    return paragraphs


def _is_link_only(p: HtmlElement) -> bool:
    text = _clean(p.text_content())
    linked = "".join(_clean(a.text_content()) for a in p.iter("a"))
    return bool(text) and len(linked) >= len(text.replace(" ", ""))


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


def _extractor_fallbacks(page: HtmlPage, fields: ArticleFields, tz: tzinfo) -> None:
    if fields.title is None or not fields.paragraphs:
        from crawler.extract import extract_article  # trafilatura: slow to import

        html = lxml.html.tostring(page.doc, encoding="unicode")
        found = extract_article(html, page.url)
        if found is not None:
            if fields.title is None and found.title:
                fields.title, fields.routes["title"] = found.title, "trafilatura"
            if not fields.paragraphs and found.text:
                fields.paragraphs, fields.routes["body"] = found.text.split("\n"), "trafilatura"
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


# --- rankings ----------------------------------------------------------------------------------------


@dataclass
class RankingBlock:
    """A tabbed ranking block as read: window -> ordered links; ``problem`` when unreadable."""

    element: HtmlElement | None = None
    windows: dict[str, list[Link]] = field(default_factory=dict)
    problem: str | None = None

    @property
    def found(self) -> bool:
        return self.element is not None

    def elements(self) -> set[HtmlElement]:
        return descendants(self.element) if self.element is not None else set()


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# Headings and tab labels are short. NFKC folds at most a few code points into one (a
# half-width kana and its sound mark, Hangul jamo), so a text with more than this many
# non-space characters cannot be a label of 40: it is skipped before it is normalised.
_LABEL_MAX = 40
_RAW_LABEL_MAX = 4 * _LABEL_MAX


def _short_key(el: HtmlElement) -> str | None:
    """The element's text as a key (:func:`_key`) when it is short enough to be a heading
    or a tab label; None otherwise (without normalising a long text)."""
    text = el.text_content()
    if len(text) > _RAW_LABEL_MAX and len("".join(text.split())) > _RAW_LABEL_MAX:
        return None
    key = _key(text)
    return key if len(key) <= _LABEL_MAX else None


def read_ranking(
    page: HtmlPage,
    *,
    heading_words: Iterable[str],
    tab_labels: Mapping[str, str],
    accept: Callable[[str], bool],
) -> RankingBlock:
    """The ranking block under a heading containing one of ``heading_words``.

    The block is the nearest ancestor of the heading that holds links ``accept`` takes.
    Inside it, elements whose text is one of ``tab_labels`` (label -> window) are the tabs;
    the block's other children (not the heading, not the tab bar) are the lists, one per tab
    in the same order. Each list's accepted links in document order are ranks 1, 2, ...
    """
    words = [_key(w) for w in heading_words]
    labels = {_key(label): window for label, window in tab_labels.items()}
    candidates = []
    for el in page.doc.iter(lxml.etree.Element):
        if el.tag in ("a", "html", "body", "title", "head"):
            continue
        key = _short_key(el)
        if key is not None and any(w in key for w in words) and not any(True for _ in el.iter("a")):
            candidates.append(el)
    unreadable: RankingBlock | None = None
    for heading in candidates:
        block = heading.getparent()
        while (
            block is not None and block.tag not in ("body", "html") and not _holds_links(page, block, accept)
        ):
            block = block.getparent()
        if block is None or block.tag in ("body", "html"):
            continue
        result = _read_block(page, block, heading, labels, accept)
        if result.problem is None:
            return result
        unreadable = unreadable or result
    # A block that is there but cannot be read: found, with the problem.
    return unreadable or RankingBlock()


def _read_block(
    page: HtmlPage,
    block: HtmlElement,
    heading: HtmlElement,
    labels: Mapping[str, str],
    accept: Callable[[str], bool],
) -> RankingBlock:
    tabs: list[tuple[HtmlElement, str]] = []
    taken: set[HtmlElement] = set()
    for el in block.iter(lxml.etree.Element):
        key = _short_key(el)
        window = labels.get(key) if key is not None else None
        if window is not None and el not in taken:
            taken |= descendants(el)  # li > a both read "24時間": one tab
            tabs.append((el, window))
    if not tabs:
        return RankingBlock(element=block, problem="ranking block has no tabs with known labels")
    windows = [w for _, w in tabs]
    if len(set(windows)) != len(windows):
        return RankingBlock(element=block, problem=f"ranking tabs repeat a window: {', '.join(windows)}")
    tab_elements = {el for el, _ in tabs}
    boxes = _list_boxes(page, block, heading, tab_elements, accept)
    if len(boxes) != len(tabs):
        # Extra boxes without links (a "more" button, an ad slot) are no lists.
        boxes = [b for b in boxes if _holds_links(page, b, accept)]
    if len(boxes) != len(tabs):
        return RankingBlock(
            element=block, problem=f"ranking block has {len(tabs)} tabs but {len(boxes)} lists"
        )
    block_links = links(page, accept, within=block)
    read = {}
    for (_, window), box in zip(tabs, boxes, strict=True):
        in_box = descendants(box)
        read[window] = [link for link in block_links if link.element in in_box]
    return RankingBlock(element=block, windows=read)


def _holds_links(page: HtmlPage, el: HtmlElement, accept: Callable[[str], bool]) -> bool:
    return any(accept(page.absolute((a.get("href") or "").strip())) for a in el.iter("a"))


def _list_boxes(
    page: HtmlPage,
    container: HtmlElement,
    heading: HtmlElement,
    tabs: set[HtmlElement],
    accept: Callable[[str], bool],
) -> list[HtmlElement]:
    """The children of ``container`` that hold the lists: not the heading, not the tab bar.
    A child holding the heading or the tabs and also links is a wrapper, looked into instead."""
    boxes: list[HtmlElement] = []
    for child in container.iterchildren(lxml.etree.Element):
        inside = descendants(child)
        has_links = _holds_links(page, child, accept)
        if heading in inside or inside & tabs:
            if has_links:
                boxes.extend(_list_boxes(page, child, heading, tabs, accept))
            continue
        if has_links or child.tag in ("ol", "ul", "div", "section"):
            boxes.append(child)
    return boxes
