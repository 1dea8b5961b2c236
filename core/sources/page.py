"""Kind ``page``: a listing page read with CSS or XPath selectors
(crawler/spiders/page.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import REQUIRED, OptionProblem, opt
from core.sources.base import SourceOptions

SELECTOR_KEYS = ("item", "link", "title", "date", "next")


@dataclass(frozen=True, kw_only=True)
class PageOptions(SourceOptions):
    kind: ClassVar[str] = "page"
    summary: ClassVar[str] = "a listing page read with selectors"

    selector_type: str = opt("choice:css,xpath", "css", "how the selectors below are written")
    item: str = opt("selector", REQUIRED, "one match per story on the listing page")
    link: str = opt("selector", REQUIRED, "inside the item: the story's link")
    title: str = opt("selector", REQUIRED, "inside the item: the story's title")
    date: str | None = opt("selector", None, "inside the item: the story's date", shown_default="none")
    date_format: str | None = opt(
        "str", None, "strptime format of the date (e.g. `%d %B %Y`)", shown_default="common formats"
    )
    next: str | None = opt("selector", None, "the link to the next, older listing page", shown_default="none")
    max_pages: int = opt("int", 5, "listing pages read at most, the first included", minimum=1)
    fetch_articles: bool = opt("bool", False, "also read each new story's own page in full")
    language: str | None = opt(
        "str",
        None,
        "`ja`, `zh`, `ko`: the page's language when its `<html lang>` does not say",
        shown_default="none",
    )

    def check(self, name: str) -> None:
        from parsel import Selector

        probe = Selector(text="<html><body></body></html>")
        for key in SELECTOR_KEYS:
            expr = getattr(self, key)
            if expr is None:
                continue
            try:
                if self.selector_type == "xpath":
                    probe.xpath(expr)
                else:
                    probe.css(expr)
            except Exception as exc:  # parsel raises several error types for bad expressions
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                kind = "CSS" if self.selector_type == "css" else "XPath"
                raise OptionProblem(
                    key, f'"{expr}" is not a valid {kind} selector in source "{name}" ({reason})'
                ) from None
        if self.date_format and not self.date:
            raise OptionProblem("date_format", "given without a date selector")
