"""What the Ministry of Defense (www.mod.go.jp) writes, read into plain values: update.xml
titles, the press-conference data file, 人事発令 index links, release pages, challenge pages
and the dates in its URLs. Pure functions for the ``mod`` spider; none raises on bad input."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from core.dates import parse_era_date_string, parse_era_dates, parse_url_date

__all__ = [
    "JinjiLink",
    "KishaEntry",
    "ReleasePage",
    "UpdateTitle",
    "is_challenge",
    "is_jinji_index",
    "is_kisha_url",
    "is_personnel",
    "jinji_links",
    "parse_kisha_js",
    "parse_release_page",
    "parse_update_title",
    "personnel_key",
    "squash",
    "strip_markup",
    "url_date",
]

# Runs of layout whitespace (markup indentation, line breaks, no-break spaces). A
# full-width space (U+3000) inside text is part of how the ministry writes and is kept.
_LAYOUT_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


def squash(text: str) -> str:
    """Layout whitespace folded to one space, the ends stripped; U+3000 inside kept."""
    return _LAYOUT_SPACE.sub(" ", text).strip()


# -- update.xml ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateTitle:
    """``<section>|<subject>を掲載`` (published) or ``…を更新`` (updated), read apart."""

    section: str | None
    subject: str
    action: str | None  # 掲載 | 更新 | None when the title ends otherwise


_ACTION = re.compile(r"を\s*(掲載|更新)(?:しました)?\s*$")


def parse_update_title(title: str) -> UpdateTitle:
    """Split an update.xml title; a title without ``|`` is all subject, one without
    を掲載/を更新 has no action. Half- and full-width bars (|, ｜) both separate."""
    text = squash(title)
    section: str | None = None
    for bar in ("|", "｜"):
        if bar in text:
            head, _, text = text.partition(bar)
            section = head.strip() or None
            text = text.strip()
            break
    action = None
    match = _ACTION.search(text)
    if match and match.start() > 0:
        action = match.group(1)
        text = text[: match.start()].rstrip()
    return UpdateTitle(section, text, action)


# -- kisha_ja.js ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KishaEntry:
    """One press conference of kisha_ja.js: ``{date:"令和7年10月28日",title:"…",url:"…"}``."""

    date: date
    date_text: str
    title: str
    url: str  # as written (root-relative)


# One object literal without nested braces, and its string-valued keys.
_JS_OBJECT = re.compile(r"\{[^{}]*\}")
_JS_PAIR = re.compile(
    r"""["']?(?P<key>[A-Za-z_]\w*)["']?\s*:\s*(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)')"""
)
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def _js_unescape(value: str) -> str:
    def sub(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r"}.get(code, code)

    return _JS_ESCAPE.sub(sub, value)


def parse_kisha_js(script: str) -> tuple[list[KishaEntry], int]:
    """The press conferences in kisha_ja.js, in file order, and how many objects that had a
    ``date`` or ``url`` key could not be read (no url, or a date that is not an era date).

    The file is JavaScript, not JSON (unquoted keys), so it is read object by object; key
    order and quote style do not matter. A file in another format gives ``([], 0)``.
    """
    entries: list[KishaEntry] = []
    broken = 0
    for block in _JS_OBJECT.finditer(script):
        pairs = {
            m["key"]: _js_unescape(m["dq"] if m["dq"] is not None else m["sq"] or "")
            for m in _JS_PAIR.finditer(block.group(0))
        }
        if "date" not in pairs and "url" not in pairs:
            continue
        url = pairs.get("url", "").strip()
        date_text = squash(pairs.get("date", ""))
        day = parse_era_date_string(date_text) if date_text else None
        if not url or day is None:
            broken += 1
            continue
        entries.append(KishaEntry(day, date_text, squash(pairs.get("title", "")), url))
    return entries, broken


# -- the 人事発令 index -----------------------------------------------------------------------


@dataclass(frozen=True)
class JinjiLink:
    url: str  # absolute
    text: str  # the anchor text as written (layout whitespace folded)


def jinji_links(page: str, base_url: str) -> list[JinjiLink]:
    """The PDF links of a 人事発令 index, resolved against the index URL, in page order,
    each URL once."""
    selector = Selector(text=page)
    links: dict[str, JinjiLink] = {}
    for anchor in selector.xpath("//a[@href]"):
        href = (anchor.attrib.get("href") or "").strip()
        if not urlsplit(href).path.lower().endswith(".pdf"):
            continue
        url = urljoin(base_url, href)
        text = squash("".join(anchor.xpath(".//text()").getall()))
        links.setdefault(url, JinjiLink(url, text))
    return list(links.values())


_JINJI_INDEX = re.compile(r"/j/press/jinji/\d{4}/(?:index\.html?)?$", re.IGNORECASE)
_JINJI_PATH = re.compile(r"/j/press/jinji/", re.IGNORECASE)
_KISHA_PATH = re.compile(r"/j/press/kisha/\d{4}/[^/]+\.html?$", re.IGNORECASE)


def is_jinji_index(url: str) -> bool:
    """Whether ``url`` is a yearly 人事発令 index (a list of orders, not an order)."""
    return bool(_JINJI_INDEX.search(urlsplit(url).path))


def is_kisha_url(url: str) -> bool:
    return bool(_KISHA_PATH.search(urlsplit(url).path))


def is_personnel(title: str, url: str = "") -> bool:
    """A personnel order (人事発令): by its title, or by living under /j/press/jinji/."""
    return "人事発令" in unicodedata.normalize("NFKC", title) or bool(_JINJI_PATH.search(urlsplit(url).path))


_PERSONNEL_KIND = re.compile(r"(\d{1,2})月(\d{1,2})日付け?\s*(?P<kind>[^()（）]*)")


def personnel_key(text: str) -> tuple[int, int, str] | None:
    """(month, day, kind of orders) of a batch of personnel orders, so that the update.xml
    item ``人事発令(10月1日付 将補人事)`` finds the index link ``令和７年１０月１日付　将補人事``.
    None when the text names no date."""
    normal = unicodedata.normalize("NFKC", text)
    match = _PERSONNEL_KIND.search(normal)
    if match is None:
        return None
    kind = re.sub(r"\s+", "", match["kind"]).rstrip(")）")
    return int(match.group(1)), int(match.group(2)), kind


# -- release pages and the bot challenge ----------------------------------------------------

# Markers of a Cloudflare challenge page. Any two of them, or the title, make a challenge:
# a real release quoting one of these words stays a release.
_CHALLENGE_TITLE = re.compile(rb"<title>\s*Just a moment\.\.\.\s*</title>", re.IGNORECASE)
_CHALLENGE_MARKERS = (
    b"_cf_chl_opt",
    b"/cdn-cgi/challenge-platform/",
    b"challenge-error-text",
    b"cf-chl",
    b"Checking if the site connection is secure",
)


def is_challenge(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is a bot challenge rather than the page: the ``cf-mitigated:
    challenge`` header, or a challenge body (also served with status 200)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("cf-mitigated", "").strip().lower() == "challenge":
        return True
    head = body[:20000]
    if _CHALLENGE_TITLE.search(head):
        return True
    return sum(marker in head for marker in _CHALLENGE_MARKERS) >= 2


@dataclass(frozen=True)
class ReleasePage:
    title: str
    date: date | None  # the date line (era date) of the page
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


# Where the release text sits, most specific first; the last is any paragraph of the page
# outside its header, navigation and footer.
_BODY_PARAGRAPHS = (
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' contents-body ')]//p",
    "//article//p",
    "//main//p",
    "//body//p[not(ancestor::header or ancestor::footer or ancestor::nav)]",
)


def parse_release_page(page: str) -> ReleasePage | None:
    """Title, date line and body paragraphs of a release page; None when no body is found."""
    selector = Selector(text=page)
    title = squash("".join(selector.xpath("(//h1)[1]//text()").getall()))
    if not title:
        title = squash(selector.xpath("//title/text()").get(default="")).split("｜")[0].strip()
    date_line = selector.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' date ')]//text()"
    ).getall()
    found = parse_era_dates(" ".join(date_line))
    for query in _BODY_PARAGRAPHS:
        paragraphs = []
        for p in selector.xpath(query):
            if "date" in (p.attrib.get("class") or "").split():
                continue
            text = squash("".join(p.xpath(".//text()").getall()))
            if text:
                paragraphs.append(text)
        if paragraphs:
            return ReleasePage(title, found[0].date if found else None, tuple(paragraphs))
    return None


# -- titles and URLs -----------------------------------------------------------------------

# An HTML tag that a title may carry, with attributes shaped like attributes: ``A<B と C>D``
# is text, not a tag.
_TAG = re.compile(
    r"</?(?P<name>[A-Za-z][A-Za-z0-9]*)"
    r"(?:\s+[A-Za-z_:][-\w:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'<>=]+))?)*\s*/?>"
)
_TITLE_TAGS = frozenset(
    {
        *("a", "abbr", "b", "big", "br", "cite", "code", "del", "em", "font", "i", "img", "ins"),
        *("kbd", "mark", "p", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike"),
        *("strong", "sub", "sup", "time", "tt", "u", "wbr"),
    }
)


def strip_markup(title: str) -> tuple[str, bool]:
    """A feed title as plain text, and whether it carried markup (``<b>重要</b>…``).
    Only HTML tags go, so ``A<B`` stays; entities are decoded."""
    without = _TAG.sub(lambda m: "" if m["name"].lower() in _TITLE_TAGS else m.group(0), title)
    return squash(html.unescape(without)), without != title


# A date written as YYYYMMDD in the last path segment: 20251027_aus-j.html, 20251001_01.pdf.
_COMPACT_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def url_date(url: str) -> date | None:
    """The date a ministry URL carries: release and press-conference paths (see
    :func:`core.dates.parse_url_date`), else a YYYYMMDD in the file name."""
    found = parse_url_date(url)
    if found is not None:
        return found
    try:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
    except ValueError:
        return None
    for match in _COMPACT_DATE.finditer(name):
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return None
