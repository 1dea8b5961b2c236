"""The imitation of the Ministry of Defense site (www.mod.go.jp) that the tests crawl.

``ModSite()`` is a WSGI application. ``site.epoch`` moves it forward in time and
``site.faults`` (names in ``data.KNOWN_FAULTS``) breaks it in named ways; both are read
afresh on every request. What it serves is in data.py; this module only routes.

What answers how:
- /j/rss/news.xml, /j/rss/update.xml, /j/press/kisha/kisha_ja.js, every PDF, /robots.txt
  (and with ``open_pages`` the 人事発令 index): 200 with ETag and Last-Modified, 304 to a matching
  If-None-Match or a not-older If-Modified-Since.
- Every HTML page named in data.HTML_PAGES, the 人事発令 index included: the Cloudflare
  challenge (403 with ``cf-mitigated: challenge``, or 200 without that header for the
  variant), as the real site answers non-browser clients. ``ModSite(open_pages=True)`` is
  the older imitation in which the 人事発令 index and a few releases answer with the page.
- Anything else, or anything not yet published at the current epoch: 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

from imitations.mod import data, pdfs, render
from imitations.mod.conditional import etag_for, http_date, not_modified

__all__ = ["ModSite"]

_HTML = "text/html; charset=UTF-8"
_XML = "application/xml; charset=UTF-8"
_PDF = "application/pdf"
_JS = "application/javascript; charset=UTF-8"
_TEXT = "text/plain; charset=UTF-8"
_FAULT_SKEW = timedelta(seconds=1)  # a faulty variant is "modified" after the good one


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str
    last_modified: datetime | None = None
    validators: bool = True  # send ETag and Last-Modified, honour conditional requests
    headers: list[tuple[str, str]] = field(default_factory=list)


def _when(rfc822: str, faulty: bool = False) -> datetime:
    moment = parsedate_to_datetime(rfc822)
    return moment + _FAULT_SKEW if faulty else moment


class ModSite:
    """WSGI app: the ministry site at ``epoch`` with ``faults`` switched on."""

    def __init__(self, open_pages: bool = False) -> None:
        self.epoch: int = 0
        self.faults: set[str] = set()
        self.open_pages = open_pages

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            response = _Response(405, b"method not allowed\n", _TEXT, validators=False)
            response.headers.append(("Allow", "GET, HEAD"))
        elif unknown := set(self.faults) - data.KNOWN_FAULTS:
            message = f"unknown fault(s) {sorted(unknown)}; known: {sorted(data.KNOWN_FAULTS)}\n"
            response = _Response(500, message.encode(), _TEXT, validators=False)
        else:
            path = environ.get("PATH_INFO", "/")
            response = _route(path, self.epoch, frozenset(self.faults), self.open_pages)
        return _send(response, environ, start_response, head=method == "HEAD")


def _route(path: str, epoch: int, faults: frozenset[str], open_pages: bool = False) -> _Response:
    if path == data.ROBOTS_PATH:
        return _Response(200, data.ROBOTS_TXT.encode(), _TEXT, _when(data.ROBOTS_LAST_MODIFIED))
    if data.FAULT_CHALLENGED_FEEDS in faults and path in (data.NEWS_FEED_PATH, data.UPDATE_FEED_PATH):
        return _challenge(data.HtmlPage(path, data.CHALLENGE_403))
    if path == data.NEWS_FEED_PATH:
        return _news(epoch, faults)
    if path == data.UPDATE_FEED_PATH:
        return _update(epoch)
    if path == data.KISHA_JS_PATH:
        return _kisha(epoch, faults)
    doc = data.ALL_PDFS.get(path)
    if doc is not None and doc.epoch <= epoch:
        return _pdf(doc, faults)
    page = data.HTML_PAGES.get(path)
    if page is not None and page.epoch <= epoch:
        return _html(page, epoch) if open_pages else _challenge(page)
    return _Response(404, render.NOT_FOUND.encode(), _HTML, validators=False)


def _news(epoch: int, faults: frozenset[str]) -> _Response:
    items = data.news_items(epoch)
    build = render.latest(item.pub_date for item in items)
    titles: dict[str, str] = {}
    if data.FAULT_HTML_IN_TITLE in faults:
        titles[data.HTML_IN_TITLE_PATH] = data.HTML_IN_TITLE
    if data.FAULT_EMPTY_NEWS in faults:
        items = []
    xml = render.news_xml(items, build, titles)
    if data.FAULT_MALFORMED_NEWS in faults and items:
        xml = render.truncated(xml, data.MALFORMED_COMPLETE_ITEMS)
    faulty = bool(faults & {data.FAULT_HTML_IN_TITLE, data.FAULT_EMPTY_NEWS, data.FAULT_MALFORMED_NEWS})
    return _Response(200, xml.encode(), _XML, _when(build, faulty))


def _update(epoch: int) -> _Response:
    items = data.update_items(epoch)
    xml = render.update_xml(items)
    return _Response(200, xml.encode(), _XML, _when(render.latest(item.pub_date for item in items)))


def _kisha(epoch: int, faults: frozenset[str]) -> _Response:
    entries = data.kisha_entries(epoch)
    broken = data.FAULT_BROKEN_KISHA in faults
    script = render.kisha_js_broken(entries) if broken else render.kisha_js(entries)
    return _Response(
        200, script.encode(), _JS, _when(data.at_epoch(data.KISHA_JS_LAST_MODIFIED, epoch), broken)
    )


def _pdf(doc: data.PdfDoc, faults: frozenset[str]) -> _Response:
    if data.FAULT_BIG_PDF in faults and doc.path == data.BIG_PDF_PATH:
        return _Response(200, pdfs.enlarged(doc.path), _PDF, _when(doc.last_modified, True))
    if data.FAULT_FAKE_PDF in faults and doc.path == data.FAKE_PDF_HTML_PATH:
        return _Response(200, render.PDF_ERROR_PAGE.encode(), _HTML, validators=False)
    if data.FAULT_FAKE_PDF in faults and doc.path == data.FAKE_PDF_GARBAGE_PATH:
        return _Response(200, pdfs.garbage(doc.path), _PDF, _when(doc.last_modified, True))
    return _Response(200, pdfs.committed(doc.path), _PDF, _when(doc.last_modified))


def _html(page: data.HtmlPage, epoch: int) -> _Response:
    if page.path == data.JINJI_INDEX_PATH:
        html = render.jinji_index(data.jinji_pdfs(epoch), page.title)
        return _Response(
            200, html.encode(), _HTML, _when(data.at_epoch(data.JINJI_INDEX_LAST_MODIFIED, epoch))
        )
    if page.answer == data.PAGE:
        return _Response(200, render.release_page(page).encode(), _HTML, _when(page.last_modified))
    return _challenge(page)


def _challenge(page: data.HtmlPage) -> _Response:
    """What the real site answers a non-browser client for any HTML page."""
    body = render.challenge(page.path).encode()
    response = _Response(
        200 if page.answer == data.CHALLENGE_200 else 403,
        body,
        _HTML,
        validators=False,
        headers=render.challenge_headers(page.path),
    )
    if page.answer != data.CHALLENGE_200:
        response.headers.append(("cf-mitigated", "challenge"))
    return response


def _send(
    response: _Response, environ: dict[str, Any], start_response: Callable[..., Any], head: bool
) -> Iterable[bytes]:
    headers = [("Server", "cloudflare"), *response.headers]
    if response.validators and response.status == 200:
        etag = etag_for(response.body)
        headers.append(("ETag", etag))
        if response.last_modified is not None:
            headers.append(("Last-Modified", http_date(response.last_modified)))
        if not_modified(environ, etag, response.last_modified):
            start_response("304 Not Modified", headers)
            return []
    headers += [("Content-Type", response.content_type), ("Content-Length", str(len(response.body)))]
    status = HTTPStatus(response.status)
    start_response(f"{status.value} {status.phrase}", headers)
    return [] if head else [response.body]
