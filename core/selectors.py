"""Selectors a configuration may give (``[sources.selectors]``): the keys, and compiling one
CSS or XPath expression into a function from an element to the elements it selects. The
configuration validates with it at load; crawler/selectors.py uses it to read pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import lxml.etree

__all__ = ["SELECTOR_KEYS", "Selector", "compile_selector"]

SELECTOR_KEYS = ("article_links", "title", "date", "body", "ranking", "tabs", "lists")
Selector = Callable[[Any], list[Any]]


@lru_cache(maxsize=64)
def compile_selector(expression: str, kind: str = "css") -> Selector:
    """``expression`` (``kind`` css or xpath) as a function; ValueError when it is invalid."""
    if kind == "css":
        from cssselect import HTMLTranslator, SelectorError

        try:
            xpath = HTMLTranslator().css_to_xpath(expression)
        except SelectorError as exc:
            raise ValueError(str(exc).splitlines()[0] if str(exc) else "invalid CSS") from None
    elif kind == "xpath":
        xpath = expression
    else:
        raise ValueError(f"unknown selector type {kind!r} (expected css or xpath)")
    try:
        compiled = lxml.etree.XPath(xpath)
    except lxml.etree.XPathSyntaxError as exc:
        raise ValueError(str(exc)) from None

    def select(el: Any) -> list[Any]:
        try:
            found = compiled(el)
        except lxml.etree.XPathEvalError:
            return []
        return [x for x in found if isinstance(x, lxml.etree._Element)] if isinstance(found, list) else []

    return select
