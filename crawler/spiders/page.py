"""Kind ``page``: a listing page read with CSS or XPath selectors from the configuration,
followed through its ``next`` links for up to ``max_pages`` pages.

The ``link``, ``title`` and ``date`` selectors are applied inside each ``item``. A selector
may end on an attribute or text (``a::attr(href)``, ``.//a/@href``, ``h2::text``) or on an
element: then a link is read from its ``href`` (or its first descendant's), a date from its
``datetime`` attribute or its text, a title from its text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from core.sources import PageOptions
from core.text import fold_whitespace
from crawler.encoding import decode_document
from crawler.items import StoryItem
from crawler.spiders.feed import ListingSpider

PAGE_META = "defwatch_page"


class PageSpider(ListingSpider, kind="page"):
    options: PageOptions

    async def start(self) -> AsyncIterator[Any]:
        yield self.listing_request(self.source.url, self.parse_listing, first=True, meta={PAGE_META: 1})

    def parse_listing(self, response: Response) -> Iterator[Any]:
        page = int(response.meta.get(PAGE_META, 1))
        if response.status == 304:
            self.count("not_modified")
            return
        if not isinstance(response, TextResponse):
            self.error("not_html", response.url)
            if page == 1:
                self.fail(f"not an HTML page at {response.url}")
            return
        response, assumed = self.decoded_as_a_browser(response)
        items = self.select(response.selector, "item")
        if not items:
            self.degrade(f'selector item = "{self.options.item}" matched nothing at {response.url}')
            return
        stories = self.stories(items, response)
        if assumed:
            for story in stories:
                story.extra["encoding_assumed"] = assumed
        language = self.options.language or response.xpath("/html/@lang").get() or ""
        self.check_mojibake(stories, language, f"decoded as {response.encoding}", response.url)
        new = self.new_stories(stories)
        yield from new
        if stories and not new:
            self.logger.debug("page %d lists nothing new; older pages are not read", page)
        elif page < max(1, self.options.max_pages) and self.options.next:
            next_url = _value(self.select(response.selector, "next"), "href")
            if next_url:
                yield self.listing_request(
                    response.urljoin(next_url), self.parse_listing, meta={PAGE_META: page + 1}
                )
        self.remember_validators_unless_degraded(response)

    def decoded_as_a_browser(self, response: TextResponse) -> tuple[TextResponse, str | None]:
        """The page as a browser decodes it. Scrapy reads a declared charset (BOM, HTTP,
        ``<meta>``) as the WHATWG standard maps labels; a page that declares none and is not
        UTF-8 is detected as a feed is (crawler.encoding: Japanese first when it reads with
        kana, where Scrapy's guess takes Shift_JIS for Korean). Returns the response to read
        and, when detected, the encoding assumed (counted ``encoding_detected``)."""
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        decoded = decode_document(response.body, content_type, html=True)
        if decoded.source != "detected":
            return response, None
        self.count("encoding_detected")
        self.logger.info(
            "%s declares no usable encoding: read as %s (detected)", response.url, decoded.encoding
        )
        return response.replace(encoding=decoded.encoding), decoded.encoding

    def stories(self, items: SelectorList[Selector], response: TextResponse) -> list[StoryItem]:
        """One story per item that has a link (and a title, unless articles are fetched)."""
        missing = {"link": 0, "title": 0, "date": 0}
        stories = []
        for item in items:
            link = _value(self.select(item, "link"), "href")
            title = _value(self.select(item, "title"))
            raw_date = _value(self.select(item, "date"), "datetime") if self.options.date else None
            for key, value in (("link", link), ("title", title), ("date", raw_date)):
                missing[key] += not value
            if not link:
                self.count("no_link")
                continue
            if not title and not self.options.fetch_articles:
                self.count("no_title")
                continue
            extra: dict[str, Any] = {}
            published = self.published(raw_date, extra, self.options.date_format)
            stories.append(
                StoryItem(
                    url=response.urljoin(link),
                    title=title,
                    published=published,
                    kind="item",
                    complete=False,
                    extra=extra,
                )
            )
        for key, count in missing.items():
            if getattr(self.options, key) and count == len(items):
                self.degrade(
                    f'selector {key} = "{getattr(self.options, key)}" matched nothing in any of the '
                    f"{len(items)} items at {response.url}"
                )
        return stories

    def select(self, node: Selector | SelectorList[Selector], key: str) -> SelectorList[Selector]:
        expr: str | None = getattr(self.options, key)
        if not expr:
            return SelectorList([])
        return node.xpath(expr) if self.options.selector_type == "xpath" else node.css(expr)


def _value(found: SelectorList[Selector], attribute: str | None = None) -> str:
    """What the first match says: its text or attribute value, or for an element the named
    attribute (on it or its first descendant that has one), else its text."""
    if not found:
        return ""
    first = found[0]
    if isinstance(first.root, str):
        return fold_whitespace(first.root)
    if attribute:
        value = first.attrib.get(attribute) or first.xpath(f".//@{attribute}").get()
        if value:
            return fold_whitespace(value)
        if attribute == "href":
            return ""
    return fold_whitespace(" ".join(first.xpath(".//text()").getall()))
