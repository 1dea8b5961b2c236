"""What the Ministry of Defense imitation serves, as plain data that tests assert against.

Everything here is written the way the site writes it: titles with full-width digits and
variant kanji, relative feed links, RFC 822 dates in +0900. The routing (``__init__.py``)
and the renderers (``render.py``) only turn this data into bytes.

Time line. Epoch 0 is the site as a crawler first sees it. Epoch 1 adds exactly two
releases to news.xml (one HTML, one PDF), a new 人事発令 PDF (on the 人事発令 index and in
update.xml), a new press-conference entry in kisha_ja.js and the matching update.xml items;
nothing else changes. Epoch 2 adds two more releases, one of them the third release titled
中国海軍艦艇の動向について, and news.xml, capped at ``NEWS_FEED_CAP`` entries, drops its two
oldest entries (their pages still answer: a feed rolling over is not a deletion).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imitations import shared_story

# The news.xml items and the PDFs are modules of their own; named here as they always were.
from imitations.mod.news_items import NEWS_ITEMS, NewsItem
from imitations.mod.pdf_docs import (  # noqa: F401
    ALL_PDFS,
    JINJI_INDEX_LAST_MODIFIED,
    JINJI_PDFS,
    JINJI_ROOT_RELATIVE_LINKS,
    RELEASE_PDFS,
    PdfDoc,
    jinji_pdfs,
    release_pdfs,
)

# -- answers of HTML pages ----------------------------------------------------------------
CHALLENGE_403 = "challenge-403"  # 403 + Cloudflare "Just a moment..." body + cf-mitigated
CHALLENGE_200 = "challenge-200"  # 200 + the same body, no cf-mitigated header: detect by body
PAGE = "page"  # 200 + the real page: title, date line, body paragraphs

# -- faults (ModSite.faults) -------------------------------------------------------------
FAULT_MALFORMED_NEWS = "malformed-news"
FAULT_EMPTY_NEWS = "empty-news"
FAULT_HTML_IN_TITLE = "html-in-title"
FAULT_BIG_PDF = "big-pdf"
FAULT_FAKE_PDF = "fake-pdf"
FAULT_BROKEN_KISHA = "broken-kisha"
# The site starts challenging its feeds too (403, cf-mitigated): the crawl reads nothing.
FAULT_CHALLENGED_FEEDS = "challenged-feeds"
KNOWN_FAULTS = frozenset(
    {
        FAULT_MALFORMED_NEWS,
        FAULT_EMPTY_NEWS,
        FAULT_HTML_IN_TITLE,
        FAULT_BIG_PDF,
        FAULT_FAKE_PDF,
        FAULT_BROKEN_KISHA,
        FAULT_CHALLENGED_FEEDS,
    }
)

# -- well-known paths ---------------------------------------------------------------------
NEWS_FEED_PATH = "/j/rss/news.xml"
UPDATE_FEED_PATH = "/j/rss/update.xml"
FEED_INDEX_PATH = "/j/rss/index.html"
KISHA_JS_PATH = "/j/press/kisha/kisha_ja.js"
JINJI_INDEX_PATH = "/j/press/jinji/2025/index.html"
ROBOTS_PATH = "/robots.txt"

ROBOTS_TXT = "User-agent: *\nDisallow: /a/\nDisallow: /sp/j/\n"
ROBOTS_LAST_MODIFIED = "Mon, 01 Sep 2025 09:00:00 +0900"

# The real channel <link> is the absolute site URL. Item links are relative and must be
# resolved against the URL the feed was fetched from, never against this.
CHANNEL_LINK = "https://www.mod.go.jp/"
NEWS_FEED_CAP = 20  # news.xml never holds more entries than this (the oldest fall off)


def news_items(epoch: int) -> list[NewsItem]:
    """The <item>s of news.xml at an epoch, in feed order (repeats included)."""
    return [item for item in NEWS_ITEMS if item.epoch <= epoch][:NEWS_FEED_CAP]


def news_paths(epoch: int) -> list[str]:
    """The distinct release paths in news.xml at an epoch, first occurrence order."""
    return list(dict.fromkeys(item.path for item in news_items(epoch)))


# The quirks, named so that tests can point at them.
REPEATED_PATH = "/j/press/news/2025/10/22a.html"  # twice in news.xml, identical entries
SHARED_TITLE = "中国海軍艦艇の動向について"  # different releases, one title
SHARED_TITLE_PATHS_EPOCH0 = ("/j/press/news/2025/10/28a.pdf", "/j/press/news/2025/10/16a.pdf")
# Releases whose URL carries a date other than their pubDate's (6 of the 17 at epoch 0).
URL_DATE_DIFFERS_EPOCH0 = (
    "/j/approach/exchange/area/2025/20251027_aus-j.html",  # 10/27, published 10/28
    "/j/press/news/2025/10/24c.html",  # 10/24, published 10/27
    "/j/press/news/2025/10/22a.html",  # 10/22, published 10/24
    "/j/press/news/2025/10/17c.html",  # 10/17, published 10/20
    "/j/press/news/2025/10/15a.html",  # 10/15, published 10/16
    "/j/press/news/2025/10/10a.pdf",  # 10/10, published 10/14
)
EPOCH1_NEW_PATHS = ("/j/press/news/2025/10/31a.html", "/j/press/news/2025/10/30a.pdf")
EPOCH2_NEW_PATHS = ("/j/press/news/2025/11/05a.html", "/j/press/news/2025/11/04a.pdf")
EPOCH2_DROPPED_PATHS = ("/j/press/news/2025/10/15a.html", "/j/press/news/2025/10/10a.pdf")


@dataclass(frozen=True)
class UpdateItem:
    """One <item> of update.xml: ``<section>|<subject>を掲載`` or ``…を更新``."""

    title: str
    link: str
    pub_date: str
    epoch: int = 0


# update.xml in feed order over the whole time line; the same link recurs (the disaster
# relief record and the procurement notices are "updated" again and again; the 人事発令
# index gets one item per batch of orders).
UPDATE_ITEMS: tuple[UpdateItem, ...] = (
    # epoch 2
    UpdateItem(
        "お知らせ・報道資料|「自衛隊記念日」記念行事の実施についてを掲載",
        "/j/press/news/2025/11/05a.html",
        "Wed, 05 Nov 2025 17:58:03 +0900",
        epoch=2,
    ),
    UpdateItem(
        "お知らせ・報道資料|中国海軍艦艇の動向についてを掲載",
        "/j/press/news/2025/11/04a.pdf",
        "Wed, 05 Nov 2025 17:58:03 +0900",
        epoch=2,
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年11月4日）を掲載",
        "/j/press/kisha/2025/1104a.html",
        "Tue, 04 Nov 2025 16:30:00 +0900",
        epoch=2,
    ),
    # epoch 1
    UpdateItem(
        "お知らせ・報道資料|日米防衛相会談についてを掲載",
        "/j/press/news/2025/10/31a.html",
        "Fri, 31 Oct 2025 18:05:21 +0900",
        epoch=1,
    ),
    UpdateItem(
        "お知らせ・報道資料|北朝鮮による弾道ミサイル発射についてを掲載",
        "/j/press/news/2025/10/30a.pdf",
        "Fri, 31 Oct 2025 18:05:21 +0900",
        epoch=1,
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年10月31日）を掲載",
        "/j/press/kisha/2025/1031a.html",
        "Fri, 31 Oct 2025 15:10:00 +0900",
        epoch=1,
    ),
    UpdateItem(
        "人事発令|人事発令(10月31日付 将官人事)を掲載",
        JINJI_INDEX_PATH,
        "Fri, 31 Oct 2025 10:00:00 +0900",
        epoch=1,
    ),
    # epoch 0
    UpdateItem(
        "お知らせ・報道資料|「第２回防衛力の抜本的強化に関する有識者会議」の開催についてを掲載",
        "/j/press/news/2025/10/28b.html",
        "Tue, 28 Oct 2025 18:06:48 +0900",
    ),
    UpdateItem(
        "お知らせ・報道資料|中国海軍艦艇の動向についてを掲載",
        "/j/press/news/2025/10/28a.pdf",
        "Tue, 28 Oct 2025 18:06:48 +0900",
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年10月28日）を掲載",
        "/j/press/kisha/2025/1028a.html",
        "Tue, 28 Oct 2025 15:00:00 +0900",
    ),
    UpdateItem(
        "お知らせ・報道資料|宮﨑防衛副大臣の海外出張についてを掲載",
        "/j/press/news/2025/10/24c.html",
        "Mon, 27 Oct 2025 18:03:42 +0900",
    ),
    UpdateItem(
        "防衛省・自衛隊の災害派遣|災害派遣の実績を更新",
        "/j/approach/defense/saigai/index.html",
        "Mon, 27 Oct 2025 10:00:00 +0900",
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年10月24日）を掲載",
        "/j/press/kisha/2025/1024a.html",
        "Fri, 24 Oct 2025 14:30:00 +0900",
    ),
    UpdateItem(
        "調達情報|入札公告を更新",
        "/j/budget/chotatsu/nyusatsu/index.html",
        "Fri, 24 Oct 2025 09:00:00 +0900",
    ),
    UpdateItem(
        "防衛省・自衛隊の災害派遣|災害派遣の実績を更新",
        "/j/approach/defense/saigai/index.html",
        "Wed, 22 Oct 2025 10:00:00 +0900",
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣臨時記者会見（令和7年10月21日）を掲載",
        "/j/press/kisha/2025/1021a_r.html",
        "Tue, 21 Oct 2025 19:00:00 +0900",
    ),
    UpdateItem(
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年10月21日）を掲載",
        "/j/press/kisha/2025/1021a.html",
        "Tue, 21 Oct 2025 12:00:00 +0900",
    ),
    UpdateItem(
        "調達情報|入札公告を更新",
        "/j/budget/chotatsu/nyusatsu/index.html",
        "Mon, 20 Oct 2025 09:00:00 +0900",
    ),
    UpdateItem(
        "お知らせ・報道資料|日ＡＳＥＡＮ防衛当局次官級会合の開催についてを掲載",
        shared_story.MOD_PATH,
        shared_story.MOD_PUBDATE,
    ),
    UpdateItem(
        "防衛省・自衛隊の災害派遣|災害派遣の実績を更新",
        "/j/approach/defense/saigai/index.html",
        "Thu, 16 Oct 2025 10:00:00 +0900",
    ),
    UpdateItem(
        "人事発令|人事発令(10月15日付 １佐職人事)を掲載",
        JINJI_INDEX_PATH,
        "Wed, 15 Oct 2025 10:00:00 +0900",
    ),
    UpdateItem(
        "人事発令|人事発令(10月1日付 １佐職人事)を掲載",
        JINJI_INDEX_PATH,
        "Wed, 01 Oct 2025 09:30:00 +0900",
    ),
    UpdateItem(
        "人事発令|人事発令(10月1日付 将補人事)を掲載",
        JINJI_INDEX_PATH,
        "Wed, 01 Oct 2025 09:30:00 +0900",
    ),
)


def update_items(epoch: int) -> list[UpdateItem]:
    return [item for item in UPDATE_ITEMS if item.epoch <= epoch]


@dataclass(frozen=True)
class KishaEntry:
    """One entry of kisha_ja.js: ``{date:"…",title:"…",url:"…"}``."""

    date: str
    title: str
    url: str
    epoch: int = 0


# kisha_ja.js, newest first. 1021a_r is an ad-hoc (臨時) conference.
KISHA_ENTRIES: tuple[KishaEntry, ...] = (
    KishaEntry("令和7年11月4日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1104a.html", epoch=2),
    KishaEntry("令和7年10月31日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1031a.html", epoch=1),
    KishaEntry("令和7年10月28日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1028a.html"),
    KishaEntry("令和7年10月24日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1024a.html"),
    KishaEntry("令和7年10月21日", "中谷防衛大臣臨時記者会見", "/j/press/kisha/2025/1021a_r.html"),
    KishaEntry("令和7年10月21日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1021a.html"),
    KishaEntry("令和7年10月17日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1017a.html"),
    KishaEntry("令和7年10月14日", "宮﨑防衛副大臣記者会見", "/j/press/kisha/2025/1014b.html"),
    KishaEntry("令和7年10月10日", "中谷防衛大臣記者会見", "/j/press/kisha/2025/1010a.html"),
)
KISHA_JS_LAST_MODIFIED = {
    0: "Tue, 28 Oct 2025 15:00:00 +0900",
    1: "Fri, 31 Oct 2025 15:10:00 +0900",
    2: "Tue, 04 Nov 2025 16:30:00 +0900",
}


def at_epoch(by_epoch: Mapping[int, str], epoch: int) -> str:
    """The value of an epoch-keyed table at ``epoch`` (the last one holds from then on)."""
    return by_epoch[max(e for e in by_epoch if e <= epoch)]


def kisha_entries(epoch: int) -> list[KishaEntry]:
    return [entry for entry in KISHA_ENTRIES if entry.epoch <= epoch]


@dataclass(frozen=True)
class HtmlPage:
    """An HTML path and how it answers. Only ``PAGE`` answers carry content."""

    path: str
    answer: str
    epoch: int = 0
    title: str = ""
    date_line: str = ""  # as the page prints it, in the Japanese era
    paragraphs: tuple[str, ...] = ()
    last_modified: str = ""


# The HTML release pages that answer with a real page (everything else is challenged).
_RELEASE_PAGES: tuple[HtmlPage, ...] = (
    HtmlPage(
        "/j/press/news/2025/10/28b.html",
        PAGE,
        title="「第２回防衛力の抜本的強化に関する有識者会議」の開催について",
        date_line="令和7年10月28日",
        paragraphs=(
            "令和7年10月30日(木)、防衛省において、「防衛力の抜本的強化に関する有識者会議」（第２回）を"
            "開催しますので、お知らせします。",
            "１　日時　令和7年10月30日(木)14時00分～16時00分",
            "２　場所　防衛省Ａ棟１１階第１省議室",
            "３　議題　防衛力の抜本的強化の進捗状況について",
            "なお、会議は非公開とし、終了後に議事要旨を公表します。",
        ),
        last_modified="Tue, 28 Oct 2025 18:06:48 +0900",
    ),
    HtmlPage(
        "/j/press/news/2025/10/20a.html",
        PAGE,
        title="「防衛省・自衛隊ハラスメント防止対策」の公表について",
        date_line="令和7年10月20日",
        paragraphs=(
            "防衛省は、本日、「防衛省・自衛隊ハラスメント防止対策」を取りまとめましたので、公表します。",
            "本対策は、令和７年度に実施した特別防衛監察の結果を踏まえ、相談体制の強化、"
            "教育の充実及び処分の厳正化を柱とするものです。",
            "防衛省・自衛隊は、ハラスメントを一切許容しない組織環境の構築に全力で取り組んでまいります。",
        ),
        last_modified="Mon, 20 Oct 2025 17:30:00 +0900",
    ),
    HtmlPage(
        "/j/press/news/2025/10/15a.html",
        PAGE,
        title="第２回日英防衛装備・技術協力運営委員会の開催について",
        date_line="令和7年10月15日",
        paragraphs=(
            "令和7年10月15日(水)、東京において、第２回日英防衛装備・技術協力運営委員会を開催しました。",
            "本委員会では、次期戦闘機の共同開発を始めとする日英間の防衛装備・技術協力の進捗について"
            "意見交換を行いました。",
            "日本側からは防衛装備庁装備政策部長が、英国側からは国防省国際防衛装備局長が出席しました。",
        ),
        last_modified="Thu, 16 Oct 2025 18:06:48 +0900",
    ),
    # The variant: the challenge body with status 200.
    HtmlPage("/j/press/news/2025/10/27a.html", CHALLENGE_200),
)

_OTHER_HTML_PATHS = (
    "/",
    "/j/index.html",
    "/en/index.html",
    "/j/press/news/index.html",
    "/j/press/kisha/index.html",
    FEED_INDEX_PATH,
    "/j/approach/defense/saigai/index.html",
    "/j/budget/chotatsu/nyusatsu/index.html",
)


def _html_pages() -> dict[str, HtmlPage]:
    pages: dict[str, HtmlPage] = {}
    for path in _OTHER_HTML_PATHS:
        pages[path] = HtmlPage(path, CHALLENGE_403)
    for entry in KISHA_ENTRIES:
        pages[entry.url] = HtmlPage(entry.url, CHALLENGE_403, epoch=entry.epoch)
    for item in reversed(NEWS_ITEMS):  # oldest first, so a page takes its first epoch
        if item.kind == "html" and item.path not in pages:
            pages[item.path] = HtmlPage(item.path, CHALLENGE_403, epoch=item.epoch)
    for page in _RELEASE_PAGES:
        pages[page.path] = page
    # With ModSite(open_pages=True) the 人事発令 index answers with its page (the only list
    # of the personnel PDFs); by default it is challenged like every HTML page, as on the
    # real site, and the notices of update.xml are all there is.
    pages[JINJI_INDEX_PATH] = HtmlPage(JINJI_INDEX_PATH, PAGE, title="人事発令（令和7年）")
    return pages


# Every HTML path the site answers (other paths: 404). At epochs before ``epoch``: 404.
HTML_PAGES: dict[str, HtmlPage] = _html_pages()
NORMAL_RELEASE_PAGES = tuple(p.path for p in _RELEASE_PAGES if p.answer == PAGE)
CHALLENGE_200_PAGES = tuple(p.path for p in _RELEASE_PAGES if p.answer == CHALLENGE_200)

# -- what the faults do -------------------------------------------------------------------
# malformed-news: news.xml stops in the middle of the title of item number
# MALFORMED_COMPLETE_ITEMS + 1; the items before it are complete and well-formed.
MALFORMED_COMPLETE_ITEMS = 7
# html-in-title: this item's title carries markup (escaped in the XML as &lt;b&gt;).
HTML_IN_TITLE_PATH = "/j/press/news/2025/10/24a.html"
HTML_IN_TITLE = "<b>重要</b>令和８年度自衛官候補生の募集について"
# big-pdf: this PDF grows to about 3 MB (the same text, plus a 3,000,000-byte image).
BIG_PDF_PATH = "/j/press/news/2025/10/24b.pdf"
BIG_PDF_MIN_BYTES = 3_000_000
# fake-pdf: the first answers 200 text/html (an error page), the second 200
# application/pdf with bytes that are not a PDF.
FAKE_PDF_HTML_PATH = "/j/press/news/2025/10/22c.pdf"
FAKE_PDF_GARBAGE_PATH = "/j/press/news/2025/10/10a.pdf"
# broken-kisha: kisha_ja.js switches to a JSON format with other keys; no
# ``date:"…",title:"…",url:"…"`` entry is left in it.

# Which paths each fault changes; everything else answers exactly as without it.
FAULT_PATHS: dict[str, frozenset[str]] = {
    FAULT_MALFORMED_NEWS: frozenset({NEWS_FEED_PATH}),
    FAULT_EMPTY_NEWS: frozenset({NEWS_FEED_PATH}),
    FAULT_HTML_IN_TITLE: frozenset({NEWS_FEED_PATH}),
    FAULT_BIG_PDF: frozenset({BIG_PDF_PATH}),
    FAULT_FAKE_PDF: frozenset({FAKE_PDF_HTML_PATH, FAKE_PDF_GARBAGE_PATH}),
    FAULT_BROKEN_KISHA: frozenset({KISHA_JS_PATH}),
    FAULT_CHALLENGED_FEEDS: frozenset({NEWS_FEED_PATH, UPDATE_FEED_PATH}),
}
