"""Local imitation of Jディフェンスニュース (j-defense.ikaros.jp), a WSGI application.

    site = JDefenseSite()
    with SiteServer({"jdefense": site}) as server:
        server.url("jdefense", "/docs/mod/004433.html")
        site.epoch = 1                       # move the site one day forward
        site.faults["004433"] = "truncated"  # break one article page

Routes: ``/`` (home: newest articles, titles only, and the ranking sidebar),
``/docs/<section>/`` (section index: the section's newest articles, titles only),
``/docs/<section>/NNNNNN.html`` (article), ``/robots.txt``, ``/img/logo.png``,
``/css/style.css``. Everything else answers 404, including the feed paths a spider might
guess (``/atom.xml``, ``/index.rdf``, ``/feed``, ``/rss`` ...). Content is in ``data.py``.

Faults (``site.faults[article_id] = kind``), applied to article pages that exist:
  "500"              answer 500 with an error page;
  "timeout"          sleep ``timeout_delay`` seconds, then answer normally;
  "truncated"        200, but the HTML stops halfway into the body's second paragraph;
  "no-date"          the date line and all date metadata (<time>, JSON-LD datePublished) removed;
  "redirect-offsite" 302 to http://example.invalid/docs/<section>/<id>.html;
  "shift_jis"        the normal page encoded in Shift_JIS, ``<meta charset="Shift_JIS">``,
                     and a Content-Type of plain ``text/html`` (no charset).
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from imitations.jdefense import data, render

__all__ = ["FAULT_KINDS", "JDefenseSite"]

FAULT_KINDS = ("500", "timeout", "truncated", "no-date", "redirect-offsite", "shift_jis")

ROBOTS_TXT = "User-agent: *\nDisallow: /wp-admin/\n"
STYLE_CSS = "body{font-family:sans-serif}.side,#sidebar{width:300px}\n"

_ARTICLE = re.compile(r"^/docs/([a-z]+)/(\d{6})\.html$")
_SECTION = re.compile(r"^/docs/([a-z]+)(/|/index\.html)?$")


def _png_1x1() -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        raw = kind + payload
        return struct.pack(">I", len(payload)) + raw + struct.pack(">I", zlib.crc32(raw))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


LOGO_PNG = _png_1x1()

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


class JDefenseSite:
    """The J-Defense imitation as a WSGI application object."""

    def __init__(self) -> None:
        self.epoch: int = 0
        self.faults: dict[str, str] = {}
        self.timeout_delay: float = 5.0
        self.home_ranking: bool = True

    # -- WSGI entry point --------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            status, headers, body = self._html(405, render.error_page(405, "Method Not Allowed"))
            headers.append(("Allow", "GET, HEAD"))
        else:
            status, headers, body = self.respond(environ.get("PATH_INFO", "/") or "/", environ)
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS.get(status, 'Unknown')}", headers)
        return [b"" if method == "HEAD" else body]

    # -- routing -----------------------------------------------------------------------------
    def respond(self, path: str, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        epoch = self.epoch
        if path in ("/", "/index.html"):
            return self._html(200, self._home(epoch))
        if path == "/robots.txt":
            return 200, [("Content-Type", "text/plain; charset=utf-8")], ROBOTS_TXT.encode()
        if path == "/img/logo.png":
            return 200, [("Content-Type", "image/png")], LOGO_PNG
        if path == "/css/style.css":
            return 200, [("Content-Type", "text/css")], STYLE_CSS.encode()
        m = _ARTICLE.match(path)
        if m:
            return self._article(m.group(1), m.group(2), epoch, environ)
        m = _SECTION.match(path)
        if m and m.group(1) in data.SECTIONS:
            if m.group(2) is None:
                return 301, [("Location", f"/docs/{m.group(1)}/")], b""
            return self._html(200, self._section(m.group(1), epoch))
        return self._not_found()

    # -- pages -------------------------------------------------------------------------------
    def _ranking(self, epoch: int) -> render.Ranking:
        return {w: [data.BY_ID[i] for i in ids] for w, ids in data.rankings_at(epoch).items()}

    def _home(self, epoch: int) -> str:
        latest = [data.BY_ID[i] for i in data.home_ids(epoch)]
        return render.home_page(latest, self._ranking(epoch) if self.home_ranking else None)

    def _section(self, section: str, epoch: int) -> str:
        return render.section_page(section, [data.BY_ID[i] for i in data.section_ids(section, epoch)])

    def _article(
        self, section: str, article_id: str, epoch: int, environ: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        article = data.BY_ID.get(article_id)
        if article is None or article.epoch > epoch or article.section != section:
            return self._not_found()
        fault = self.faults.get(article_id)
        if fault == "500":
            return self._html(500, render.error_page(500, "Internal Server Error"))
        if fault == "redirect-offsite":
            return 302, [("Location", f"http://example.invalid{article.path}")], b""
        if fault == "timeout":
            time.sleep(self.timeout_delay)
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        ranking = self._ranking(epoch)
        if fault == "shift_jis":
            page = render.article_page(article, ranking, f"http://{host}", charset="Shift_JIS")
            return 200, [("Content-Type", "text/html")], page.encode("shift_jis")
        page = render.article_page(article, ranking, f"http://{host}", no_date=fault == "no-date")
        if fault == "truncated":
            page = render.truncate(page, article)
        return self._html(200, page)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _html(status: int, page: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "text/html; charset=utf-8")], page.encode("utf-8")

    def _not_found(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return self._html(404, render.error_page(404, "ページが見つかりません"))
