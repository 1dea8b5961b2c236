"""A local news site for the ``feed`` and ``page`` spiders: a WordPress RSS 2.0 feed, a
gov.uk-style Atom feed, an RSS 1.0 (RDF) feed, a paginated listing, the article pages behind
them, and the ways feeds go wrong (HTML instead of a feed, 410, redirect loops, bad dates,
items without links, a 50 MB answer).

Served with :class:`imitations.server.SiteServer`; ``epoch`` moves the site on in time:
at epoch 1 the WordPress feed has a newer item, the ``/changing/`` feed is empty and the
``/changing/`` listing has been redesigned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from imitations.feed.articles import ARTICLES, render

FILES = Path(__file__).parent / "files"
HUGE_SIZE = 50 * 1024 * 1024

RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=utf-8"
RDF = "application/rdf+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    validators: str = ""  # "", "etag", "last-modified" or "both"


class FeedSite:
    """The WSGI application. ``streamed`` counts the bytes each streamed answer sent, by
    path and query."""

    def __init__(self) -> None:
        self.epoch = 0
        self.streamed: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        origin = f"http://{environ.get('HTTP_HOST', '127.0.0.1')}"
        if path in ("/bad/huge.xml", "/bad/huge-declared.xml"):
            key = path + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
            return self._huge(key, start_response, declared=path.endswith("declared.xml"))
        if path == "/moved/mod.atom":
            where = origin + "/government/organisations/ministry-of-defence.atom"
            start_response("301 Moved Permanently", [("Location", where), ("Content-Length", "0")])
            return [b""]
        if path == "/bad/gone.xml":
            return _plain(start_response, "410 Gone", b"This feed has been retired.\n")
        if path in LOOP:
            start_response("302 Found", [("Location", origin + LOOP[path]), ("Content-Length", "0")])
            return [b""]
        page = self.page(path, query)
        if page is None:
            return _plain(start_response, "404 Not Found", b"Not found\n")
        body = page.body.replace(b"{{origin}}", origin.encode())
        return _conditional(environ, start_response, body, page, self.epoch)

    def page(self, path: str, query: dict[str, list[str]]) -> Page | None:
        if path == "/robots.txt":
            return Page(b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/feed/":
            return Page(self._wordpress(), RSS, "both")
        if path == "/government/organisations/ministry-of-defence.atom":
            return Page(_file("govuk-mod.atom"), ATOM, "last-modified")
        if path == "/rss/news.rdf":
            return Page(_file("news.rdf"), RDF)  # no validators: every run gets a 200
        if path == "/press/":
            number = query.get("page", ["1"])[0]
            listing = FILES / "press" / f"page-{number}.html"
            return Page(listing.read_bytes(), HTML, "etag") if listing.is_file() else None
        if path == "/changing/feed.xml":
            return Page(_file("bad/empty.xml") if self.epoch >= 1 else self._wordpress(), RSS, "etag")
        if path == "/changing/press/":
            name = "press/redesigned.html" if self.epoch >= 1 else "press/page-1.html"
            return Page(_file(name), HTML)
        if path == "/bad/homepage-as-feed":
            return Page(_file("bad/homepage.html"), HTML)
        if path.startswith("/bad/") and (FILES / path.lstrip("/")).is_file():
            return Page(_file(path.lstrip("/")), RSS)
        if path in ARTICLES:
            return Page(render(ARTICLES[path]).encode(), HTML)
        return None

    def _wordpress(self) -> bytes:
        feed = _file("navalnews-feed.xml")
        if self.epoch >= 1:
            feed = feed.replace(b"<!--NEWER-ITEMS-->", _file("navalnews-newer-items.xml"))
        return feed

    def _huge(self, path: str, start_response: StartResponse, declared: bool) -> Iterator[bytes]:
        """50 MB of feed-shaped bytes, generated as they are sent (never held in memory)."""
        headers = [("Content-Type", RSS)]
        if declared:
            headers.append(("Content-Length", str(HUGE_SIZE)))
        start_response("200 OK", headers)
        self.streamed[path] = 0
        return self._stream(path)

    def _stream(self, path: str) -> Iterator[bytes]:
        head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        chunk = (b"<item><title>padding</title><link>http://x/</link></item>\n" * 1200)[:65536]
        chunks = [head + chunk[len(head) :]] + [chunk] * (HUGE_SIZE // len(chunk) - 1)
        for data in chunks:
            self.streamed[path] += len(data)
            yield data


LOOP = {"/bad/loop-a": "/bad/loop-b", "/bad/loop-b": "/bad/loop-a"}


def _file(name: str) -> bytes:
    return (FILES / name).read_bytes()


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _conditional(
    environ: dict[str, Any], start_response: StartResponse, body: bytes, page: Page, epoch: int
) -> list[bytes]:
    """Answer 304 when the request's validators match, as a well-behaved server does."""
    headers = [("Content-Type", page.content_type)]
    etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    last_modified = f"Thu, 13 Feb 2025 {10 + epoch:02d}:00:00 GMT"
    fresh = False
    if page.validators in ("etag", "both"):
        headers.append(("ETag", etag))
        fresh = environ.get("HTTP_IF_NONE_MATCH") == etag
    if page.validators in ("last-modified", "both"):
        headers.append(("Last-Modified", last_modified))
        if "HTTP_IF_NONE_MATCH" not in environ or page.validators == "last-modified":
            fresh = fresh or environ.get("HTTP_IF_MODIFIED_SINCE") == last_modified
    if fresh:
        start_response("304 Not Modified", headers)
        return []
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return [body]
