"""Reading article pages and ranking blocks from visible structure (crawler.extract_article):
the imitation's two markup variants, hand-made variants that force each fallback route,
the date-line table, and ranking blocks in several shapes."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.dates import JST
from crawler.extract_article import (
    HtmlPage,
    date_line_value,
    looks_truncated,
    parse_page,
    read_article,
    read_ranking,
)
from imitations.jdefense import data as D
from imitations.jdefense import render

BASE = "http://jd.test"
ARTICLE = re.compile(r"/docs/[a-z]+/\d{6}\.html$")
TABS = {"24時間": "24h", "1週間": "1w", "1ヶ月": "1m", "週間": "1w", "月間": "1m", "日間": "24h"}
HEADING = ("Ranking", "ランキング", "読まれている記事")


def jst(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=JST)


def page(html: str, path: str = "/docs/mod/004400.html") -> HtmlPage:
    parsed = parse_page(html, BASE + path)
    assert parsed is not None
    return parsed


def is_article(url: str) -> bool:
    return url.startswith(BASE) and ARTICLE.search(url) is not None


def ranking_of(p: HtmlPage) -> dict[str, list[str]]:
    block = read_ranking(p, heading_words=HEADING, tab_labels=TABS, accept=is_article)
    assert block.problem is None, block.problem
    return {w: [link.url.rsplit("/", 1)[1][:6] for link in links] for w, links in block.windows.items()}


# ---- the date line ---------------------------------------------------------------------------------

DATE_LINES = [
    ("2025-10-3 09:00", jst(2025, 10, 3, 9, 0), "unpadded-day"),
    ("2025-2-13 09:05", jst(2025, 2, 13, 9, 5), "unpadded-month-and-day"),
    ("2025-10-07 09:05", jst(2025, 10, 7, 9, 5), "padded"),
    ("\n  2025-10-21 08:55\n", jst(2025, 10, 21, 8, 55), "markup-whitespace"),
    ("\u30002025-10-21 08:55\u3000", jst(2025, 10, 21, 8, 55), "ideographic-spaces"),
    ("２０２５-１０-２１ ０８:５５", jst(2025, 10, 21, 8, 55), "full-width-digits"),
    ("投稿日：2025-10-21 08:55", jst(2025, 10, 21, 8, 55), "label-before"),
    ("2025-10-21 08:55 更新", jst(2025, 10, 21, 8, 55), "label-after"),
    ("Posted on 2025-10-21 08:55", jst(2025, 10, 21, 8, 55), "english-label"),
    ("2025年10月21日(火) 8:55", jst(2025, 10, 21, 8, 55), "kanji-with-weekday"),
    ("2025/10/21", jst(2025, 10, 21), "slashes-no-time"),
    ("2025-10-21 08:55 (更新 2025-10-22 10:00)", jst(2025, 10, 21, 8, 55), "first-of-two"),
    ("防衛省は2025-10-21 08:55に次の通り発表した。発表の全文は以下の通りである。", None, "body-sentence"),
    ("令和7年10月17日(金)11時~11時38分", None, "era-date-is-body-text"),
    ("人事発令 令和7年10月1日付け、1佐職人事", None, "title-with-era-date"),
    ("日本の防衛", None, "category"),
    ("2025-2-30 09:05", None, "impossible-date"),
    ("0120-12-34", None, "phone-number"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in DATE_LINES], ids=[c[2] for c in DATE_LINES])
def test_date_line_value(text: str, expected: datetime | None) -> None:
    assert date_line_value(text) == expected


@given(st.text(max_size=80))
def test_date_line_value_never_raises(text: str) -> None:
    value = date_line_value(text)
    assert value is None or value.tzinfo is not None


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)), st.booleans())
def test_date_lines_round_trip(moment: datetime, padded: bool) -> None:
    day = f"{moment.month:02d}-{moment.day:02d}" if padded else f"{moment.month}-{moment.day}"
    line = f"{moment.year}-{day} {moment.hour:02d}:{moment.minute:02d}"
    assert date_line_value(line) == moment.replace(second=0, microsecond=0, tzinfo=JST)


# ---- the imitation's article pages ---------------------------------------------------------------------

RANKING_0 = {w: [D.BY_ID[i] for i in ids] for w, ids in D.RANKINGS[0].items()}
VARIANT_CASES = ["004400", "004401", "004408", "004412", "004426", "004432", D.SHARED_STORY_ID, "004448"]


@pytest.mark.parametrize(
    "article_id", VARIANT_CASES, ids=[f"{i}-{D.BY_ID[i].variant}" for i in VARIANT_CASES]
)
def test_imitation_article_pages(article_id: str) -> None:
    article = D.BY_ID[article_id]
    p = page(render.article_page(article, RANKING_0, BASE), article.path)
    ranking = read_ranking(p, heading_words=HEADING, tab_labels=TABS, accept=is_article)
    fields = read_article(p, exclude=ranking.elements(), fallbacks=False)
    assert fields.title == article.title
    assert fields.published == article.published
    assert fields.paragraphs == article.body
    assert fields.categories == [article.section_label]
    assert [link.url for link in fields.category_links] == [f"{BASE}/docs/{article.section}/"]
    assert fields.routes == {
        "title": "visible",
        "published": "date-line",
        "body": "visible",
        "categories": "visible",
    }
    assert not fields.truncated
    assert ranking_of(p) == D.RANKINGS[0]


def test_shift_jis_page_read_from_its_decoded_text() -> None:
    article = D.BY_ID["004430"]
    html = render.article_page(article, RANKING_0, BASE, charset="Shift_JIS")
    decoded = html.encode("shift_jis").decode("cp932")  # as Scrapy decodes a Shift_JIS page
    fields = read_article(page(decoded, article.path), fallbacks=False)
    assert (fields.title, fields.paragraphs) == (article.title, article.body)


@pytest.mark.parametrize("variant_id", ["004400", "004401"], ids=["a", "b"])
def test_truncated_page_is_flagged(variant_id: str) -> None:
    article = D.BY_ID[variant_id]
    html = render.truncate(render.article_page(article, RANKING_0, BASE), article)
    fields = read_article(page(html, article.path), fallbacks=False)
    assert fields.truncated
    assert fields.title == article.title  # what was read is right, it is just not all there
    assert len(fields.paragraphs) == 2 and fields.paragraphs[1] != article.body[1]


@pytest.mark.parametrize("variant_id", ["004400", "004401"], ids=["a", "b"])
def test_no_date_page_has_no_date_by_any_route(variant_id: str) -> None:
    article = D.BY_ID[variant_id]
    html = render.article_page(article, RANKING_0, BASE, no_date=True)
    fields = read_article(page(html, article.path))  # htmldate too: it must not guess from the text
    assert fields.published is None
    assert fields.title == article.title
    assert fields.routes["title"] == "heading"  # confirmed by <title>, with no date line to anchor it
    assert fields.paragraphs == article.body
    assert fields.routes["body"] == "after-title"


def test_truncation_check() -> None:
    assert not looks_truncated("<html><body><p>x</p></body></html>\n")
    assert not looks_truncated("<html><body><p>x</p></body>")
    assert looks_truncated("<html><body><p>x</p><p>hal")


# ---- hand-made pages that force each route ----------------------------------------------------------------

HEAD = '<html><head><meta charset="utf-8"><title>{title} | サイト</title>{meta}</head><body>'
TAIL = "</body></html>"
BODY = "<p>第一段落です。</p><p>第二段落です。</p>"

ROUTE_CASES = [
    (
        "visible-with-label",
        HEAD + '<div class="x"><h3>見出しA</h3><p class="y">投稿日：2025年10月21日 8:55</p>'
        '<div class="z">' + BODY + "</div></div>" + TAIL,
        ("見出しA", jst(2025, 10, 21, 8, 55), "visible", "date-line", "visible"),
    ),
    (
        "date-only-in-time-element",
        HEAD + '<h1>見出しB</h1><time datetime="2025-10-21T08:55:00+09:00">火曜の朝</time>' + BODY + TAIL,
        ("見出しB", jst(2025, 10, 21, 8, 55), "heading", "time-element", "after-title"),
    ),
    (
        "date-only-in-json-ld",
        HEAD.replace(
            "{meta}",
            '<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", '
            '"headline": "見出しC", "datePublished": "2025-10-20T23:55:00Z"}]}</script>',
        )
        + "<h2>見出しC</h2>"
        + BODY
        + TAIL,
        ("見出しC", jst(2025, 10, 21, 8, 55), "heading", "json-ld", "after-title"),
    ),
    (
        "date-only-in-meta",
        HEAD.replace("{meta}", '<meta property="article:published_time" content="2025-10-21T08:55:00+09:00">')
        + "<h1>見出しD</h1>"
        + BODY
        + TAIL,
        ("見出しD", jst(2025, 10, 21, 8, 55), "heading", "meta", "after-title"),
    ),
    (
        "title-only-in-og",
        HEAD.replace("{meta}", '<meta property="og:title" content="見出しE">')
        + '<div class="ttl">見出しE</div><div>2025-10-21 08:55</div>'
        + BODY
        + TAIL,
        ("見出しE", jst(2025, 10, 21, 8, 55), "og:title", "date-line", "visible"),
    ),
    (
        "related-links-and-footer-left-out",
        HEAD + "<main><h1>見出しF</h1><div>2025-10-21 08:55</div><div>" + BODY + "</div>"
        '<div><p>関連リンク</p><a href="/x">x</a></div><p><a href="/more">もっと読む</a></p></main>'
        "<footer><p>Copyright</p></footer>" + TAIL,
        ("見出しF", jst(2025, 10, 21, 8, 55), "visible", "date-line", "visible"),
    ),
    (
        "sidebar-heading-before-is-not-the-title",
        HEAD + "<div><div><div><h4>カテゴリー</h4></div></div></div><div><div><div><div>"
        "<span>2025-10-21 08:55</span>" + BODY + "</div></div></div></div>" + TAIL,
        ("見出しX", jst(2025, 10, 21, 8, 55), "trafilatura", "date-line", "visible"),
    ),
]


@pytest.mark.parametrize(("html", "expected"), [c[1:] for c in ROUTE_CASES], ids=[c[0] for c in ROUTE_CASES])
def test_routes(html: str, expected: tuple[str, datetime, str, str, str]) -> None:
    title = expected[0]
    fields = read_article(page(html.replace("{title}", title).replace("{meta}", "")))
    assert (
        fields.title,
        fields.published,
        fields.routes["title"],
        fields.routes["published"],
        fields.routes["body"],
    ) == expected
    assert fields.paragraphs == ["第一段落です。", "第二段落です。"]


def test_body_of_br_lines_is_read_visibly() -> None:
    text = "防衛省は本日、新たな方針を発表した。" * 8
    html = (
        "<html><head><title>見出しG</title></head><body><article><h1>見出しG</h1>"
        f"<div>2025-10-21 08:55</div><div>{text}<br>{text}</div></article></body></html>"
    )
    fields = read_article(page(html))
    assert fields.routes["body"] == "visible"
    assert fields.paragraphs == [text, text]
    assert not fields.problem


def test_br_inside_a_paragraph_keeps_its_lines() -> None:
    html = HEAD + "<h1>見出しH</h1><div>2025-10-21 08:55</div><p>一行目<br>\n二行目</p>" + TAIL
    fields = read_article(page(html.replace("{title}", "見出しH").replace("{meta}", "")), fallbacks=False)
    assert fields.paragraphs == ["一行目", "二行目"]
    assert fields.body == "一行目\n二行目"


def test_xml_declaration_is_accepted() -> None:
    html = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + HEAD
        + "<h1>見出しI</h1><div>2025-10-21 08:55</div>"
        + BODY
        + TAIL
    )
    fields = read_article(page(html.replace("{title}", "見出しI").replace("{meta}", "")), fallbacks=False)
    assert fields.title == "見出しI"


@pytest.mark.parametrize("html", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_no_page_from_nothing(html: str) -> None:
    assert parse_page(html, BASE + "/") is None


# ---- ranking blocks -----------------------------------------------------------------------------------------


def _links(ids: list[str]) -> str:
    return "".join(f'<li><a href="/docs/mod/{i}.html">記事{i}</a></li>' for i in ids)


L24, L1W, L1M = ["004403", "004402"], ["004401"], ["004400", "004401", "004402"]
RANKING_BLOCKS = [
    (
        "tabs-then-lists",
        "<aside><div><h3>Ranking<span>読まれている記事</span></h3><ul><li>24時間</li><li>1週間</li><li>1ヶ月</li></ul>"
        f"<div><ol>{_links(L24)}</ol></div><div><ol>{_links(L1W)}</ol></div><div><ol>{_links(L1M)}</ol></div>"
        "</div></aside>",
        {"24h": L24, "1w": L1W, "1m": L1M},
    ),
    (
        "wrapped-tabs-and-lists",
        '<section><h4>アクセスランキング</h4><div class="inner"><p><a href="#a">日間</a><a href="#b">週間</a>'
        f'<a href="#c">月間</a></p><ol>{_links(L24)}</ol><ol>{_links(L1W)}</ol><ol>{_links(L1M)}</ol></div></section>',
        {"24h": L24, "1w": L1W, "1m": L1M},
    ),
    (
        "extra-more-button",
        "<div><h3>ランキング</h3><div><span>24時間</span><span>1週間</span></div>"
        f'<ol>{_links(L24)}</ol><ol>{_links(L1W)}</ol><div><a href="/ranking/">もっと見る</a></div></div>',
        {"24h": L24, "1w": L1W},
    ),
]


@pytest.mark.parametrize(
    ("block", "expected"), [c[1:] for c in RANKING_BLOCKS], ids=[c[0] for c in RANKING_BLOCKS]
)
def test_ranking_blocks(block: str, expected: dict[str, list[str]]) -> None:
    html = f"<html><body><main><h1>記事</h1></main>{block}</body></html>"
    assert ranking_of(page(html)) == expected


def test_home_page_ranking_and_links_are_apart() -> None:
    home = render.home_page([D.BY_ID[i] for i in D.home_ids(0)], RANKING_0)
    p = page(home, "/")
    block = read_ranking(p, heading_words=HEADING, tab_labels=TABS, accept=is_article)
    assert ranking_of(p) == D.RANKINGS[0]
    from crawler.extract_article import links

    listed = [link.url.rsplit("/", 1)[1][:6] for link in links(p, is_article, exclude=block.elements())]
    assert listed == D.home_ids(0)


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (
            f"<div><h3>ランキング</h3><div><span>今日</span><span>今週</span></div><ol>{_links(L24)}</ol></div>",
            "no tabs",
        ),
        (
            f"<div><h3>ランキング</h3><div><span>24時間</span><span>1週間</span></div><ol>{_links(L24)}</ol></div>",
            "2 tabs but 1 lists",
        ),
    ],
    ids=["unknown-labels", "list-missing"],
)
def test_unreadable_ranking_block(block: str, problem: str) -> None:
    p = page(f"<html><body>{block}</body></html>")
    found = read_ranking(p, heading_words=HEADING, tab_labels=TABS, accept=is_article)
    assert found.found and found.problem is not None and problem in found.problem


def test_no_ranking_block() -> None:
    p = page(f"<html><body><h1>記事</h1><ul>{_links(L24)}</ul></body></html>")
    found = read_ranking(p, heading_words=HEADING, tab_labels=TABS, accept=is_article)
    assert not found.found and found.problem is None
