"""A parsed HTML page as the readers share it (metadata read before scripts are dropped,
document order of elements, page furniture), and the small text and link helpers they use.

Pure functions on text; nothing here fetches anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

__all__ = [
    "HEADINGS",
    "HtmlPage",
    "Link",
    "clean",
    "clean_block",
    "descendants",
    "links",
    "looks_truncated",
    "parse_page",
]

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Page furniture: never the title, the date line or the body.
_CHROME_TAGS = frozenset({"nav", "footer", "aside", "form", "menu"})
_CHROME_ROLES = frozenset({"navigation", "contentinfo", "complementary", "banner", "search", "menu"})
# Buttons stay: ranking tabs are often buttons (the body reader leaves them out itself).
_DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "select")
_WS = re.compile(r"[ \t\r\n\f\v]+")

# --- the page ---------------------------------------------------------------------------------


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
    size: int = 0  # characters of HTML

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
    head_title = clean(title_el.text_content()) if title_el is not None else None
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
        size=len(html),
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


def clean(text: str) -> str:
    """One line, as written: ASCII whitespace runs (markup line breaks) folded; U+3000 and
    every other character kept, since titles are stored exactly as displayed."""
    return _WS.sub(" ", text).strip(" \t\r\n\f\v")


def clean_block(text: str) -> str:
    """A paragraph: each line (``<br>``) cleaned, empty lines dropped."""
    return "\n".join(line for line in (clean(x) for x in text.split("\n")) if line)


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
            out.append(Link(clean(a.text_content()), url, a))
    return out


def descendants(el: HtmlElement) -> set[HtmlElement]:
    return set(el.iter(lxml.etree.Element))
