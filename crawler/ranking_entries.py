"""A ranking window's entries, read from the panel its tab was matched to
(:mod:`crawler.ranking_reader`), and the self-checks each window is held to: 5-20 distinct
articles, visible rank numbers 1..n without gaps, every entry titled, titles not repeated,
no entry linking outside the site's article URL shape."""

from __future__ import annotations

import re
from collections.abc import Callable

import lxml.etree
from lxml.html import HtmlElement

from crawler.checks import Check
from crawler.html_page import HtmlPage, Link, clean
from crawler.url_shape import link_lists

__all__ = ["MAX_ENTRIES", "MIN_ENTRIES", "RANK", "read_windows"]

MIN_ENTRIES, MAX_ENTRIES = 5, 20
RANK = re.compile(r"^(?:no\.?|第|#)?\s*0*(\d{1,2})\s*(?:位|\.)?$", re.IGNORECASE)


def _link_title(a: HtmlElement) -> str:
    """The link's text without a rank badge inside it (``<span>1</span>title``)."""
    parts = [a.text or ""]
    for child in a.iterchildren():
        if isinstance(child.tag, str) and not RANK.match(clean(child.text_content())):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return clean("".join(parts))


def read_windows(
    page: HtmlPage,
    block: HtmlElement,
    tabs: list[tuple[HtmlElement, str]],
    panels: list[set[HtmlElement]],
    found: list[Link],
    accept: Callable[[str], bool],
    run_checks: bool = True,
) -> tuple[dict[str, list[Link]], dict[str, list[Check]]]:
    """Each window's entries (one per article, its longest link text the title) from the
    panel its tab was matched to, and the checks each window is held to (none run when
    ``run_checks`` is False: the entries alone)."""
    windows: dict[str, list[Link]] = {}
    checks: dict[str, list[Check]] = {}
    lists = link_lists(page, accept, within=block) if run_checks else []
    for (_, window), panel in zip(tabs, panels, strict=True):
        in_panel = [link for link in found if link.element in panel]
        entries: list[Link] = []
        groups: list[list[Link]] = []
        for link in in_panel:  # a thumbnail link and a title link to one article: one entry
            if groups and groups[-1][0].url == link.url:
                groups[-1].append(link)
            else:
                groups.append([link])
        for group in groups:
            titles = [_link_title(link.element) for link in group if link.element is not None]
            title = max(titles, key=len, default="")
            entries.append(Link(title, group[0].url, group[0].element))
        windows[window] = entries
        if not run_checks:
            continue
        checks[window] = _window_checks(page, entries, groups, panel)
        anchors = {link.element for link in in_panel}
        outside = [u for x in lists if x.anchors & anchors for u in x.outside]
        checks[window].append(
            Check(
                "url-shape",
                not outside,
                f"{len(outside)} {'entry links' if len(outside) == 1 else 'entries link'} outside "
                f"the site's article URL shape, e.g. {outside[0]}"
                if outside
                else "",
            )
        )
    return windows, checks


def _window_checks(
    page: HtmlPage, entries: list[Link], groups: list[list[Link]], panel: set[HtmlElement]
) -> list[Check]:
    n = len(entries)
    urls = [e.url for e in entries]
    titles = [e.text for e in entries]
    repeated_urls = sorted({u for u in urls if urls.count(u) > 1})
    repeated_titles = sorted({t for t in titles if t and titles.count(t) > 1})
    blank = [i for i, t in enumerate(titles, 1) if not t]
    out = [
        Check(
            "count",
            MIN_ENTRIES <= len(set(urls)) <= MAX_ENTRIES,
            f"{len(set(urls))} distinct articles (expected {MIN_ENTRIES}-{MAX_ENTRIES})",
        ),
        Check(
            "distinct", not repeated_urls, f"repeated: {', '.join(repeated_urls)}" if repeated_urls else ""
        ),
        Check("titled", not blank, f"no title at ranks {blank}" if blank else ""),
        Check(
            "titles-differ",
            not repeated_titles,
            f"titles repeat: {' / '.join(repeated_titles)[:200]}" if repeated_titles else "",
        ),
    ]
    numbers = [_rank_number(group, panel) for group in groups]
    shown = [x for x in numbers if x is not None]
    if not shown:
        out.append(Check("ranks", True, "by order (no visible numbers)"))
    else:
        ok = numbers == list(range(1, n + 1))
        out.append(Check("ranks", ok, f"shown {numbers}" if not ok else f"1..{n} shown"))
    return out


def _rank_number(group: list[Link], panel: set[HtmlElement]) -> int | None:
    """The rank an entry shows (text, image alt, a badge in the link), or None."""
    first = group[0].element
    if first is None:
        return None
    item = first  # the entry's box: the largest ancestor holding only this entry's links
    parent = item.getparent()
    while parent is not None and sum(1 for _ in parent.iter("a")) <= len(group):
        item, parent = parent, parent.getparent()
    for el in item.iter(lxml.etree.Element):
        text = clean(el.text_content()) if len(el) == 0 else clean(el.text or "")
        m = RANK.match(text) or (RANK.match(el.get("alt") or "") if el.tag == "img" else None)
        if m:
            return int(m.group(1))
    return None
