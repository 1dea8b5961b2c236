"""Lists whose links leave the site's article URL shape: the self-check that keeps a ranking
or a latest list from being read as right when the site has moved (some of) its articles to
URLs of another shape (``/article/12345/`` where ``/docs/mod/012345.html`` was).

A list is the parent of its items; an item is the largest box around one link that holds no
link elsewhere (a thumbnail link and a title link to one URL are one item). An item is in
the shape when its URL is one the reader accepts; it is *outside* the shape when it links a
page of the same site, outside the shape, with a title-like text (navigation, pagination,
"more" links and tag links are short; links to other sites, ads and share buttons, are not
counted at all).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.etree
from lxml.html import HtmlElement

from crawler.html_page import HtmlPage, clean

__all__ = ["TITLE_CHARS", "LinkList", "link_lists", "listing_problem"]

# A link text at least this long is a title (navigation labels and "more" links are shorter).
TITLE_CHARS = 12
# A list of this many title links, none in the shape, is an article list the reader missed.
MIN_LIST = 5
# How far above a link its item may reach (bounded: a page nested 5,000 deep stays cheap).
_ITEM_REACH = 6


@dataclass
class LinkList:
    """One list: the links of its items in the shape, and the URLs of the items outside it."""

    container: HtmlElement
    anchors: set[HtmlElement] = field(default_factory=set)  # links in the shape
    in_shape: int = 0  # items
    outside: list[str] = field(default_factory=list)  # one URL per item, in document order


def _href(a: HtmlElement) -> str | None:
    href = (a.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    return href


_MIXED = "\x00mixed"  # an element holding links to more than one URL


def _link_urls(root: HtmlElement, page: HtmlPage) -> dict[HtmlElement, str]:
    """For every element of ``root`` holding links: the one URL they all go to, else
    ``_MIXED``. One pass, children before parents (reversed document order)."""
    out: dict[HtmlElement, str] = {}
    for el in reversed(list(root.iter(lxml.etree.Element))):
        value: str | None = None
        if el.tag == "a" and (href := _href(el)) is not None:
            value = page.absolute(href)
        for child in el.iterchildren(lxml.etree.Element):
            v = out.get(child)
            if v is None:
                continue
            if value is None:
                value = v
            elif v != value:
                value = _MIXED
                break
        if value is not None:
            out[el] = value
    return out


def _item(a: HtmlElement, url: str, urls: dict[HtmlElement, str]) -> HtmlElement:
    """The largest box around ``a`` whose every link goes to ``url``."""
    item = a
    for _ in range(_ITEM_REACH):
        parent = item.getparent()
        if parent is None or parent.tag in ("body", "html") or urls.get(parent) != url:
            break
        item = parent
    return item


def link_lists(
    page: HtmlPage,
    accept: Callable[[str], bool],
    *,
    within: HtmlElement | None = None,
    exclude: Collection[HtmlElement] = (),
) -> list[LinkList]:
    """The lists of the page (inside ``within``) holding an item in the shape or outside it,
    in document order."""
    host = urlsplit(page.url).netloc.lower()
    root = page.doc if within is None else within
    urls = _link_urls(root, page)
    lists: dict[HtmlElement, LinkList] = {}
    seen: set[HtmlElement] = set()
    for a in root.iter("a"):
        href = _href(a)
        if href is None or a in exclude:
            continue
        url = page.absolute(href)
        ok = accept(url)
        if not ok:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != host:
                continue
            if len(clean(a.text_content())) < TITLE_CHARS:
                continue
        item = _item(a, url, urls)
        container = item.getparent()
        if container is None:
            continue
        found = lists.setdefault(container, LinkList(container))
        if ok:
            found.anchors.add(a)
        if item in seen:
            continue
        seen.add(item)
        if ok:
            found.in_shape += 1
        else:
            found.outside.append(url)
    return list(lists.values())


def listing_problem(lists: list[LinkList], shape: str) -> str | None:
    """Why a listing page's article lists cannot be trusted, or None: no link in the shape
    while a list of title links outside it is there, or a list with more items outside the
    shape than in it. ``shape`` describes the accepted URLs for the message."""
    if not any(x.in_shape for x in lists):
        big = [x for x in lists if len(x.outside) >= MIN_LIST]
        if big:
            first = max(big, key=lambda x: len(x.outside))
            return (
                f"a list of {len(first.outside)} title links, none in the article URL shape {shape} "
                f"(e.g. {first.outside[0]}): have the site's URLs changed?"
            )
        return None
    for x in lists:
        if x.in_shape and len(x.outside) > x.in_shape:
            return (
                f"a list has {len(x.outside)} title links outside the article URL shape {shape} "
                f"beside {x.in_shape} in it (e.g. {x.outside[0]})"
            )
    return None
