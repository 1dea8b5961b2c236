"""A source's own selectors (``[sources.selectors]``), the escape hatch when the structural
readers cannot read a site: CSS or XPath expressions for the article links, the title, the
date, the body, the ranking block, its tabs and its lists. They are used first, and what
they select is held to the same checks as any other route.

``SELECTOR_KEYS`` is what the configuration accepts; :func:`compile_selector` turns one
expression into a function from an element to the elements it selects (and is what the
configuration calls to validate an expression at load).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml.html import HtmlElement

from core.selectors import SELECTOR_KEYS, Selector, compile_selector
from crawler.extract_article import ArticleSelectors, RankingSelectors

__all__ = [
    "SELECTOR_KEYS",
    "Selector",
    "article_selectors",
    "compile_selector",
    "ranking_selectors",
    "select_links",
]


def _get(selectors: Mapping[str, str] | None, key: str) -> Selector | None:
    if not selectors or not selectors.get(key):
        return None
    return compile_selector(selectors[key], selectors.get("type", "css"))


def article_selectors(selectors: Mapping[str, str] | None) -> ArticleSelectors | None:
    if not selectors or not any(selectors.get(k) for k in ("title", "date", "body")):
        return None
    return ArticleSelectors(
        title=_get(selectors, "title"), date=_get(selectors, "date"), body=_get(selectors, "body")
    )


def ranking_selectors(selectors: Mapping[str, str] | None) -> RankingSelectors | None:
    if not selectors or not selectors.get("ranking"):
        return None
    return RankingSelectors(
        block=_get(selectors, "ranking"), tabs=_get(selectors, "tabs"), lists=_get(selectors, "lists")
    )


def select_links(selectors: Mapping[str, str] | None, root: HtmlElement) -> list[HtmlElement] | None:
    """The ``<a>`` elements the ``article_links`` selector gives (links inside what it
    matches), or None when the source has none."""
    select = _get(selectors, "article_links")
    if select is None:
        return None
    out: list[HtmlElement] = []
    for el in select(root):
        out.extend(el.iter("a") if el.tag != "a" else [el])
    return out
