"""The ministry's stories followed to their own pages: PDFs downloaded and read, HTML pages
fetched (on the real site almost always a bot challenge, counted and never stored as
content). The half of kind ``mod`` (crawler.spiders.mod) that comes after the listings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response, TextResponse

from core.config import format_size
from core.dates import JST
from core.text import normalize, summarize
from crawler.base import DefwatchSpider, classify_failure
from crawler.items import StoryItem
from crawler.mod_parse import is_challenge, parse_release_page
from crawler.pdf import read_pdf

if TYPE_CHECKING:
    from twisted.python.failure import Failure

STORY = "defwatch_mod_story"  # meta: the story a PDF or page request reads for
CHALLENGE_STATUSES = [403, 503]  # let a challenge reach the callback, to be told apart


class ModPages(DefwatchSpider):
    """PDF and HTML page requests for the stories the listings gave (see ModSpider)."""

    max_pdf_size: int | None = None

    # -- PDFs ----------------------------------------------------------------------------
    def pdf_request(self, story: StoryItem) -> scrapy.Request:
        meta: dict[str, Any] = {
            STORY: story,
            "defwatch_conditional": True,
            "handle_httpstatus_list": CHALLENGE_STATUSES,
            "allow_offsite": True,
        }
        if self.max_pdf_size:
            meta["download_maxsize"] = self.max_pdf_size
        return scrapy.Request(story.url, callback=self.parse_pdf, errback=self.on_pdf_error, meta=meta)

    async def parse_pdf(self, response: Response) -> AsyncIterator[StoryItem]:
        story: StoryItem = response.meta[STORY]
        if response.status == 304:
            # Validators are kept only for PDFs that were read and stored; the story is not
            # in the store (removed?), so it gets what the listings said.
            self.count("pdf_not_modified")
            yield without_text(story, "not downloaded again: the server says it is unchanged")
            return
        if self.challenged_answer(response):
            yield self.challenged(story, response)
            return
        if response.status != 200:
            self.error(f"http_{response.status}", response.url)
            yield without_text(story, f"HTTP {response.status}")
            return
        pdf = await self.offload(read_pdf, response.body, _content_type(response))  # crawler.worker
        if pdf.text is None:
            assert pdf.problem is not None
            self.count(pdf.problem)
            self.logger.warning("%s at %s: %s; stored with its title", pdf.problem, response.url, pdf.reason)
            yield without_text(story, pdf.reason or pdf.problem)
            return
        yield replace(
            story,
            body=pdf.text,
            summary=summary_after_title(pdf.text, story.title),
            complete=True,
            extra={**story.extra, "pdf_pages": pdf.pages},
        )
        self.remember_validators(response)

    def on_pdf_error(self, failure: Failure) -> Iterator[StoryItem]:
        request = failure.request  # type: ignore[attr-defined]
        story: StoryItem = request.meta[STORY]
        if failure.check(DownloadCancelledError):
            # Scrapy cancels a download for one reason only: it outgrew download_maxsize.
            self.count("pdf_too_large")
            reason = f"larger than the {format_size(self.max_pdf_size or 0)} limit for PDFs (max_pdf_size): not downloaded"
            self.logger.warning("PDF at %s skipped: %s", request.url, reason)
        else:
            error = classify_failure(failure)
            self.error(error, request.url, failure.getErrorMessage()[:200])
            reason = f"not downloaded: {error}"
        yield without_text(story, reason)

    # -- HTML pages ----------------------------------------------------------------------
    def page_request(self, story: StoryItem) -> scrapy.Request:
        meta = {
            STORY: story,
            "handle_httpstatus_list": CHALLENGE_STATUSES,
            "allow_offsite": True,
            **self.size_meta(),
        }
        return scrapy.Request(story.url, callback=self.parse_page, errback=self.on_page_error, meta=meta)

    async def parse_page(self, response: Response) -> AsyncIterator[StoryItem]:
        story: StoryItem = response.meta[STORY]
        if self.challenged_answer(response):
            yield self.challenged(story, response)
            return
        if response.status != 200:
            self.error(f"http_{response.status}", response.url)
            yield replace(story, extra={**story.extra, "page_error": f"HTTP {response.status}"})
            return
        page = None
        if isinstance(response, TextResponse):
            page = await self.offload(parse_release_page, response.text)  # crawler.worker
        if page is None:
            self.count("page_unreadable")
            self.logger.warning("no release text found at %s; kept what the listings said", response.url)
            yield story
            return
        extra = dict(story.extra)
        published = story.published
        if page.date is not None:
            extra["page_date"] = page.date.isoformat()
            if published is None:
                published = _midnight(page.date)
                extra.update(published_date_only=True, published_from="page")
        yield replace(
            story,
            title=story.title or page.title,
            published=published,
            body=page.text,
            kind="article",
            complete=True,
            extra=extra,
        )

    def on_page_error(self, failure: Failure) -> Iterator[StoryItem]:
        request = failure.request  # type: ignore[attr-defined]
        story: StoryItem = request.meta[STORY]
        error = classify_failure(failure)
        self.error(error, request.url, failure.getErrorMessage()[:200])
        yield replace(story, extra={**story.extra, "page_error": error})

    # -- the bot challenge ---------------------------------------------------------------
    def challenged_answer(self, response: Response) -> bool:
        headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
        return is_challenge(response.status, headers, response.body)

    def challenged(self, story: StoryItem, response: Response) -> StoryItem:
        """The story as the listings gave it (title, date): a challenge page is never content."""
        self.count("challenged")
        self.logger.info("bot challenge (HTTP %d) at %s", response.status, response.url)
        extra = {**story.extra, "challenged": True, "challenge_status": response.status}
        if story.kind == "pdf":
            extra["pdf_reason"] = f"answered with a bot challenge (HTTP {response.status})"
        return replace(story, extra=extra)


def without_text(story: StoryItem, reason: str) -> StoryItem:
    """A PDF story kept with its title and date, and why it has no text."""
    return replace(story, complete=False, extra={**story.extra, "pdf_reason": reason})


def summary_after_title(text: str, title: str) -> str:
    """A summary that starts after the letterhead (date, issuer, title) when the title is
    one of the first lines, as in every ministry release."""
    lines = text.split("\n")
    wanted = normalize(title)
    for number, line in enumerate(lines[:6]):
        if wanted and normalize(line) == wanted and number + 1 < len(lines):
            return summarize("\n".join(lines[number + 1 :]))
    return summarize(text)


def _content_type(response: Response) -> str:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=JST)


def _is_pdf(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


def _is_html(url: str) -> bool:
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return not name or name.endswith((".html", ".htm", ".shtml")) or "." not in name
