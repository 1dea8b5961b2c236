"""The releases news.xml lists in the Ministry of Defense imitation (imitations/mod/data.py
names them too), newest first, each with the epoch it appears at: exactly as the site writes
them (full-width digits, variant kanji, relative links, RFC 822 dates in +0900)."""

from __future__ import annotations

from dataclasses import dataclass

from imitations import shared_story


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
