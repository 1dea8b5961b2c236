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


@dataclass(frozen=True)
class NewsItem:
    """One <item> of news.xml, as written. ``link`` and ``guid`` are the same relative URL."""

    title: str
    link: str
    pub_date: str
    category: str
    epoch: int = 0  # first epoch at which the item is in the feed

    @property
    def path(self) -> str:
        return self.link  # links are root-relative: the path on the server

    @property
    def kind(self) -> str:
        return "pdf" if self.link.endswith(".pdf") else "html"


# news.xml in feed order (newest batch first), over the whole time line. The feed at an
# epoch is ``news_items(epoch)``.
NEWS_ITEMS: tuple[NewsItem, ...] = (
    # epoch 2 -------------------------------------------------------------------------
    NewsItem(
        "「自衛隊記念日」記念行事の実施について",
        "/j/press/news/2025/11/05a.html",
        "Wed, 05 Nov 2025 17:58:03 +0900",
        "行政",
        epoch=2,
    ),
    NewsItem(
        "中国海軍艦艇の動向について",
        "/j/press/news/2025/11/04a.pdf",
        "Wed, 05 Nov 2025 17:58:03 +0900",
        "報道資料",
        epoch=2,
    ),
    # epoch 1 -------------------------------------------------------------------------
    NewsItem(
        "日米防衛相会談について",
        "/j/press/news/2025/10/31a.html",
        "Fri, 31 Oct 2025 18:05:21 +0900",
        "行政",
        epoch=1,
    ),
    NewsItem(
        "北朝鮮による弾道ミサイル発射について",
        "/j/press/news/2025/10/30a.pdf",
        "Fri, 31 Oct 2025 18:05:21 +0900",
        "報道資料",
        epoch=1,
    ),
    # epoch 0 -------------------------------------------------------------------------
    NewsItem(
        "「第２回防衛力の抜本的強化に関する有識者会議」の開催について",
        "/j/press/news/2025/10/28b.html",
        "Tue, 28 Oct 2025 18:06:48 +0900",
        "行政",
    ),
    NewsItem(
        "中国海軍艦艇の動向について",
        "/j/press/news/2025/10/28a.pdf",
        "Tue, 28 Oct 2025 18:06:48 +0900",
        "報道資料",
    ),
    NewsItem(
        "日豪防衛相会談について",
        "/j/approach/exchange/area/2025/20251027_aus-j.html",
        "Tue, 28 Oct 2025 18:06:48 +0900",
        "行政",
    ),
    NewsItem(
        "「自衛隊音楽まつり」の開催について",
        "/j/press/news/2025/10/27a.html",
        "Mon, 27 Oct 2025 18:03:42 +0900",
        "お知らせ",
    ),
    NewsItem(
        "宮﨑防衛副大臣の海外出張について",
        "/j/press/news/2025/10/24c.html",
        "Mon, 27 Oct 2025 18:03:42 +0900",
        "行政",
    ),
    NewsItem(
        "令和８年度自衛官候補生の募集について",
        "/j/press/news/2025/10/24a.html",
        "Fri, 24 Oct 2025 17:45:10 +0900",
        "お知らせ",
    ),
    NewsItem(
        "防衛大臣の海外出張について",
        "/j/press/news/2025/10/22a.html",
        "Fri, 24 Oct 2025 17:45:10 +0900",
        "行政",
    ),
    NewsItem(
        "日米共同統合演習（キーン・ソード２６）の実施について",
        "/j/press/news/2025/10/24b.pdf",
        "Fri, 24 Oct 2025 17:45:10 +0900",
        "報道資料",
    ),
    NewsItem(  # the same entry again, word for word (REPEATED_PATH)
        "防衛大臣の海外出張について",
        "/j/press/news/2025/10/22a.html",
        "Fri, 24 Oct 2025 17:45:10 +0900",
        "行政",
    ),
    NewsItem(
        "防衛大臣政務官の就任について",
        "/j/press/news/2025/10/22b.html",
        "Wed, 22 Oct 2025 18:10:05 +0900",
        "行政",
    ),
    NewsItem(
        "ロシア軍機の動向について",
        "/j/press/news/2025/10/22c.pdf",
        "Wed, 22 Oct 2025 18:10:05 +0900",
        "報道資料",
    ),
    NewsItem(
        "「防衛省・自衛隊ハラスメント防止対策」の公表について",
        "/j/press/news/2025/10/20a.html",
        "Mon, 20 Oct 2025 17:30:00 +0900",
        "行政",
    ),
    NewsItem(
        "海上自衛隊練習艦隊の遠洋練習航海について",
        "/j/press/news/2025/10/17c.html",
        "Mon, 20 Oct 2025 17:30:00 +0900",
        "行政",
    ),
    NewsItem(
        shared_story.MOD_TITLE,
        shared_story.MOD_PATH,
        shared_story.MOD_PUBDATE,
        "行政",
    ),
    NewsItem(
        "防衛大臣感謝状贈呈式の実施について",
        "/j/press/news/2025/10/17a.html",
        "Fri, 17 Oct 2025 16:00:00 +0900",
        "行政",
    ),
    NewsItem(
        "中国海軍艦艇の動向について",
        "/j/press/news/2025/10/16a.pdf",
        "Thu, 16 Oct 2025 18:06:48 +0900",
        "報道資料",
    ),
    NewsItem(
        "第２回日英防衛装備・技術協力運営委員会の開催について",
        "/j/press/news/2025/10/15a.html",
        "Thu, 16 Oct 2025 18:06:48 +0900",
        "行政",
    ),
    NewsItem(
        "自衛隊員の懲戒処分について",
        "/j/press/news/2025/10/10a.pdf",
        "Tue, 14 Oct 2025 17:00:00 +0900",
        "行政",
    ),
)


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
class PdfDoc:
    """A PDF the site serves, generated by make_pdfs.py into files/<path>.

    ``lines`` are the logical lines of text, exactly as written (full-width digits and
    spaces included). make_pdfs.py wraps lines wider than the page (see layout.py), so the
    text extracted from the PDF is ``lines`` with extra line breaks inside long lines.
    """

    path: str
    lines: tuple[str, ...]
    last_modified: str
    epoch: int = 0
    font: str = "HeiseiKakuGo-W5"  # CID font, not embedded; "IPAexGothic" = embedded TTF
    link_text: str = ""  # 人事発令 only: the anchor text on the index page

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# PDF releases of news.xml (every .pdf item has one).
RELEASE_PDFS: tuple[PdfDoc, ...] = (
    PdfDoc(
        "/j/press/news/2025/11/04a.pdf",
        (
            "令和7年11月4日",
            "統合幕僚監部",
            "中国海軍艦艇の動向について",
            "令和7年11月3日(月)午後1時頃、海上自衛隊は、宮古島の北東約１１０ｋｍの海域を南東に進む"
            "中国海軍ルーヤンⅢ級駆逐艦１隻及びフチ級補給艦１隻を確認しました。",
            "その後、これらの艦艇は、沖縄本島と宮古島との間の海域を南東に進み、太平洋に向けて航行しました。",
            "海上自衛隊第５航空群所属「Ｐ－３Ｃ」（那覇）が警戒監視・情報収集を行いました。",
        ),
        "Wed, 05 Nov 2025 17:58:03 +0900",
        epoch=2,
    ),
    PdfDoc(
        "/j/press/news/2025/10/30a.pdf",
        (
            "令和7年10月30日",
            "防衛省",
            "北朝鮮による弾道ミサイル発射について",
            "本日１５時５０分頃、北朝鮮西岸付近から、少なくとも１発の弾道ミサイルが東方向に発射されました。",
            "発射された弾道ミサイルは、最高高度約５０ｋｍで、約３５０ｋｍ飛翔し、北朝鮮東岸付近に落下したものと推定されます。",
            "我が国の排他的経済水域（ＥＥＺ）外に落下したものと推定されます。",
            "現時点において、航空機や船舶等からの被害報告等の情報は確認されていません。",
        ),
        "Fri, 31 Oct 2025 18:05:21 +0900",
        epoch=1,
    ),
    PdfDoc(
        "/j/press/news/2025/10/28a.pdf",
        (
            "令和7年10月28日",
            "統合幕僚監部",
            "中国海軍艦艇の動向について",
            "令和7年10月27日(月)午前9時頃、海上自衛隊は、対馬の南西約１００ｋｍの海域を北東に進む"
            "中国海軍ジャンカイⅡ級フリゲート２隻を確認しました。",
            "その後、これらの艦艇は、対馬海峡を北東に進み、日本海に向けて航行しました。",
            "海上自衛隊第３ミサイル艇隊所属「おおたか」（舞鶴）が警戒監視・情報収集を行いました。",
        ),
        "Tue, 28 Oct 2025 18:06:48 +0900",
        font="IPAexGothic",
    ),
    PdfDoc(
        "/j/press/news/2025/10/24b.pdf",
        (
            "令和7年10月24日",
            "統合幕僚監部",
            "日米共同統合演習（キーン・ソード２６）の実施について",
            "自衛隊は、令和7年10月20日(月)から11月7日(金)までの間、日米共同統合演習（実動演習）"
            "「キーン・ソード２６」を実施します。",
            "本演習は、自衛隊と米軍の共同対処能力の維持・向上を図るものです。",
            "参加兵力：自衛隊　人員約３３，０００名、米軍　人員約１２，０００名",
        ),
        "Fri, 24 Oct 2025 17:45:10 +0900",
    ),
    PdfDoc(
        "/j/press/news/2025/10/22c.pdf",
        (
            "令和7年10月22日",
            "統合幕僚監部",
            "ロシア軍機の動向について",
            "令和7年10月22日(水)、ロシア軍のＴｕ－１４２哨戒機２機が、日本海を南下し、"
            "対馬海峡上空を通過して東シナ海へ飛行しました。",
            "航空自衛隊西部航空方面隊の戦闘機等が緊急発進して対応しました。",
            "なお、領空侵犯はありませんでした。",
        ),
        "Wed, 22 Oct 2025 18:10:05 +0900",
    ),
    PdfDoc(
        shared_story.MOD_PATH,
        tuple(shared_story.RELEASE_TEXT.split("\n")),
        shared_story.MOD_PUBDATE,
    ),
    PdfDoc(
        "/j/press/news/2025/10/16a.pdf",
        (
            "令和7年10月16日",
            "統合幕僚監部",
            "中国海軍艦艇の動向について",
            "令和7年10月15日(水)午後3時頃、海上自衛隊は、与那国島の南西約８０ｋｍの海域を北東に進む"
            "中国海軍ルーヤンⅢ級駆逐艦１隻を確認しました。",
            "その後、当該艦艇は、与那国島と西表島との間の海域を北上し、東シナ海に向けて航行しました。",
            "海上自衛隊第５航空群所属「Ｐ－３Ｃ」（那覇）が警戒監視・情報収集を行いました。",
        ),
        "Thu, 16 Oct 2025 18:06:48 +0900",
    ),
    PdfDoc(
        "/j/press/news/2025/10/10a.pdf",
        (
            "令和7年10月10日",
            "防衛省",
            "自衛隊員の懲戒処分について",
            "陸上自衛隊第１２旅団（相馬原）は、令和7年10月10日、隊員１名に対し、懲戒処分を行いました。",
            "１　処分対象者　３等陸曹（２０代）",
            "２　処分内容　停職３０日",
            "３　処分理由　令和7年6月、私有車両を酒気を帯びた状態で運転したため。",
        ),
        "Tue, 14 Oct 2025 17:00:00 +0900",
    ),
)

# 人事発令 PDFs, newest first, linked from JINJI_INDEX_PATH with ``link_text``. The index
# links them document-relative (``pdf/20251001_01.pdf``) except the one in
# JINJI_ROOT_RELATIVE_LINKS, which it links root-relative: resolve against the index URL.
JINJI_PDFS: tuple[PdfDoc, ...] = (
    PdfDoc(
        "/j/press/jinji/2025/pdf/20251031_01.pdf",
        (
            "人事発令",
            "令和７年１０月３１日付",
            "防衛省",
            "（陸上自衛隊）",
            "陸将　中村　誠　　第６師団長",
            "（陸上幕僚監部防衛部長）",
            "（航空自衛隊）",
            "空将　渡邉　剛　　航空総隊副司令官",
            "（航空幕僚監部防衛部長）",
        ),
        "Fri, 31 Oct 2025 10:00:00 +0900",
        epoch=1,
        font="HeiseiMin-W3",
        link_text="令和７年１０月３１日付　将官人事",
    ),
    PdfDoc(
        "/j/press/jinji/2025/pdf/20251015_01.pdf",
        (
            "人事発令",
            "令和７年１０月１５日付",
            "防衛省",
            "（海上自衛隊）",
            "１等海佐　鈴木　一郎　　海上幕僚監部防衛部防衛課長",
            "（第１護衛隊群司令部幕僚長）",
            "１等海佐　宮﨑　直樹　　第４護衛隊司令",
            "（海上幕僚監部人事教育部補任課）",
        ),
        "Wed, 15 Oct 2025 10:00:00 +0900",
        font="HeiseiMin-W3",
        link_text="令和７年１０月１５日付　１佐職人事",
    ),
    PdfDoc(
        "/j/press/jinji/2025/pdf/20251001_02.pdf",
        (
            "人事発令",
            "令和７年１０月１日付",
            "防衛省",
            "（陸上自衛隊）",
            "１等陸佐　宮﨑　花子　　陸上幕僚監部人事教育部人事教育計画課長",
            "（第１５旅団司令部幕僚長）",
            "１等陸佐　小林　大輔　　第１普通科連隊長",
            "（陸上幕僚監部運用支援・訓練部訓練課）",
        ),
        "Wed, 01 Oct 2025 09:30:00 +0900",
        font="HeiseiMin-W3",
        link_text="令和７年１０月１日付　１佐職人事",
    ),
    PdfDoc(
        "/j/press/jinji/2025/pdf/20251001_01.pdf",
        (
            "人事発令",
            "令和７年１０月１日付",
            "防衛省",
            "（陸上自衛隊）",
            "陸将補　山田　太郎　　第１師団副師団長",
            "（陸上幕僚監部防衛部防衛課長）",
            "（海上自衛隊）",
            "海将補　佐藤　健一　　第２護衛隊群司令",
            "（海上幕僚監部総務部総務課長）",
            "（航空自衛隊）",
            "空将補　髙橋　健二　　航空支援集団副司令官",
            "（航空幕僚監部人事教育部長）",
        ),
        "Wed, 01 Oct 2025 09:30:00 +0900",
        font="HeiseiMin-W3",
        link_text="令和７年１０月１日付　将補人事",
    ),
)
JINJI_ROOT_RELATIVE_LINKS = frozenset({"/j/press/jinji/2025/pdf/20251015_01.pdf"})
JINJI_INDEX_LAST_MODIFIED = {
    0: "Wed, 15 Oct 2025 10:00:00 +0900",
    1: "Fri, 31 Oct 2025 10:00:00 +0900",
}


def release_pdfs(epoch: int) -> list[PdfDoc]:
    return [doc for doc in RELEASE_PDFS if doc.epoch <= epoch]


def jinji_pdfs(epoch: int) -> list[PdfDoc]:
    return [doc for doc in JINJI_PDFS if doc.epoch <= epoch]


ALL_PDFS: dict[str, PdfDoc] = {doc.path: doc for doc in RELEASE_PDFS + JINJI_PDFS}


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
