"""The ministry's formats read apart (crawler/mod_parse.py) and its PDFs read
(crawler/pdf.py), case by case; the committed imitation PDFs are the reference for text."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.mod_parse import (
    UpdateTitle,
    is_challenge,
    is_jinji_index,
    is_personnel,
    jinji_links,
    parse_kisha_js,
    parse_release_page,
    parse_update_title,
    personnel_key,
    squash,
    strip_markup,
    url_date,
)
from crawler.pdf import join_wrapped_lines, read_pdf
from imitations.mod import data, pdfs, render
from imitations.mod.layout import wrap

# -- update.xml titles --------------------------------------------------------------------
UPDATE_TITLES = [
    (
        "published",
        "お知らせ・報道資料|中国海軍艦艇の動向についてを掲載",
        UpdateTitle("お知らせ・報道資料", "中国海軍艦艇の動向について", "掲載"),
    ),
    (
        "updated",
        "防衛省・自衛隊の災害派遣|災害派遣の実績を更新",
        UpdateTitle("防衛省・自衛隊の災害派遣", "災害派遣の実績", "更新"),
    ),
    (
        "personnel",
        "人事発令|人事発令(10月1日付 将補人事)を掲載",
        UpdateTitle("人事発令", "人事発令(10月1日付 将補人事)", "掲載"),
    ),
    (
        "kisha",
        "大臣の記者会見|中谷防衛大臣記者会見（令和7年10月28日）を掲載",
        UpdateTitle("大臣の記者会見", "中谷防衛大臣記者会見（令和7年10月28日）", "掲載"),
    ),
    ("full-width bar", "調達情報｜入札公告を更新", UpdateTitle("調達情報", "入札公告", "更新")),
    ("spaces around", " 調達情報 | 入札公告 を更新 ", UpdateTitle("調達情報", "入札公告", "更新")),
    ("no section", "入札公告を更新", UpdateTitle(None, "入札公告", "更新")),
    ("no action", "調達情報|入札公告", UpdateTitle("調達情報", "入札公告", None)),
    ("only the action", "調達情報|を掲載", UpdateTitle("調達情報", "を掲載", None)),
    ("a second bar stays in the subject", "a|b|cを掲載", UpdateTitle("a", "b|c", "掲載")),
    ("empty", "", UpdateTitle(None, "", None)),
]


@pytest.mark.parametrize(
    ("title", "expected"), [c[1:] for c in UPDATE_TITLES], ids=[c[0] for c in UPDATE_TITLES]
)
def test_parse_update_title(title: str, expected: UpdateTitle) -> None:
    assert parse_update_title(title) == expected


@pytest.mark.parametrize("item", data.UPDATE_ITEMS, ids=lambda i: i.link + "@" + i.pub_date[5:16])
def test_every_update_item_of_the_imitation_has_section_subject_and_action(item: data.UpdateItem) -> None:
    parsed = parse_update_title(item.title)
    section, _, rest = item.title.partition("|")
    assert (parsed.section, parsed.subject + "を" + (parsed.action or "")) == (section, rest)


# -- kisha_ja.js ----------------------------------------------------------------------------
KISHA_SCRIPTS = [
    (
        "as served",
        'var kisha_list = [\n\t{date:"令和7年10月28日",title:"中谷防衛大臣記者会見",url:"/j/press/kisha/2025/1028a.html"}\n];',
        [(date(2025, 10, 28), "中谷防衛大臣記者会見", "/j/press/kisha/2025/1028a.html")],
        0,
    ),
    (
        "keys in another order, single quotes, spaces",
        "x = [{ url: '/a.html' , title : 'T', date: '令和7年1月5日' }];",
        [(date(2025, 1, 5), "T", "/a.html")],
        0,
    ),
    (
        "quoted keys and escapes",
        '[{"date":"令和元年5月1日","title":"A \\"B\\" \\u4f1a","url":"/b.html"}]',
        [(date(2019, 5, 1), 'A "B" 会', "/b.html")],
        0,
    ),
    (
        "full-width digits in the date",
        '[{date:"令和７年１０月２１日",title:"T",url:"/c.html"}]',
        [(date(2025, 10, 21), "T", "/c.html")],
        0,
    ),
    (
        "an entry without url",
        '[{date:"令和7年10月28日",title:"T"},{date:"令和7年10月27日",title:"U",url:"/u.html"}]',
        [(date(2025, 10, 27), "U", "/u.html")],
        1,
    ),
    ("an entry with a Western date", '[{date:"2025-10-28",title:"T",url:"/t.html"}]', [], 1),
    ("another format altogether", render.kisha_js_broken(data.kisha_entries(0)), [], 0),
    ("not JavaScript at all", "<html><body>Just a moment...</body></html>", [], 0),
    ("empty", "", [], 0),
]


@pytest.mark.parametrize(
    ("script", "entries", "unreadable"), [c[1:] for c in KISHA_SCRIPTS], ids=[c[0] for c in KISHA_SCRIPTS]
)
def test_parse_kisha_js(script: str, entries: list[tuple[date, str, str]], unreadable: int) -> None:
    found, broken = parse_kisha_js(script)
    assert [(e.date, e.title, e.url) for e in found] == entries
    assert broken == unreadable


def test_parse_kisha_js_reads_the_imitation_file_whole() -> None:
    found, broken = parse_kisha_js(render.kisha_js(data.kisha_entries(1)))
    assert broken == 0
    assert [(e.date_text, e.title, e.url) for e in found] == [
        (k.date, k.title, k.url) for k in data.kisha_entries(1)
    ]


# -- challenge pages --------------------------------------------------------------------------
PAGE = render.release_page(data.HTML_PAGES["/j/press/news/2025/10/28b.html"]).encode()
CHALLENGE = render.challenge("/j/press/news/2025/10/24a.html").encode()
CHALLENGES = [
    ("403 with cf-mitigated", 403, {"cf-mitigated": "challenge"}, CHALLENGE, True),
    ("200 with the challenge body", 200, {}, CHALLENGE, True),
    ("header alone, any case", 403, {"CF-Mitigated": "Challenge"}, b"", True),
    ("the real page", 200, {}, PAGE, False),
    ("a plain 403", 403, {}, b"<html><title>403 Forbidden</title></html>", False),
    ("a release that mentions one marker", 200, {}, PAGE.replace(b"</p>", b" cf-chl</p>", 1), False),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"), [c[1:] for c in CHALLENGES], ids=[c[0] for c in CHALLENGES]
)
def test_is_challenge(status: int, headers: dict[str, str], body: bytes, expected: bool) -> None:
    assert is_challenge(status, headers, body) is expected


# -- release pages ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", data.NORMAL_RELEASE_PAGES)
def test_parse_release_page_reads_title_date_and_paragraphs(path: str) -> None:
    page = data.HTML_PAGES[path]
    parsed = parse_release_page(render.release_page(page))
    assert parsed is not None
    assert (parsed.title, parsed.paragraphs) == (page.title, page.paragraphs)
    assert parsed.date is not None and f"{parsed.date.month}月{parsed.date.day}日" in page.date_line


def test_parse_release_page_without_the_usual_classes() -> None:
    html = "<html><body><header><p>ヘッダー</p></header><h1>題</h1><div><p>本文　一</p><p> </p><p>本文二</p></div><footer><p>©</p></footer></body></html>"
    parsed = parse_release_page(html)
    assert parsed is not None and (parsed.title, parsed.paragraphs, parsed.date) == (
        "題",
        ("本文　一", "本文二"),
        None,
    )


def test_parse_release_page_finds_no_body_in_a_challenge() -> None:
    assert parse_release_page(CHALLENGE.decode()) is None


# -- the 人事発令 index ----------------------------------------------------------------------------
def test_jinji_links_resolves_document_and_root_relative_links() -> None:
    index_url = "http://127.0.0.1:8/j/press/jinji/2025/index.html"
    page = render.jinji_index(data.jinji_pdfs(1), "人事発令（令和7年）")
    assert [(link.url, link.text) for link in jinji_links(page, index_url)] == [
        ("http://127.0.0.1:8" + doc.path, doc.link_text) for doc in data.jinji_pdfs(1)
    ]


PERSONNEL_KEYS = [
    ("update.xml notice", "人事発令(10月1日付 将補人事)", (10, 1, "将補人事")),
    ("index link, full width", "令和７年１０月１日付　将補人事", (10, 1, "将補人事")),
    ("full-width digit in the kind", "人事発令(10月15日付 １佐職人事)", (10, 15, "1佐職人事")),
    ("付け", "令和7年8月1日付け、将補人事", (8, 1, "、将補人事")),
    ("no date", "人事発令", None),
]


@pytest.mark.parametrize(("text", "key"), [c[1:] for c in PERSONNEL_KEYS], ids=[c[0] for c in PERSONNEL_KEYS])
def test_personnel_key(text: str, key: tuple[int, int, str] | None) -> None:
    assert personnel_key(text) == key


@pytest.mark.parametrize("doc", data.jinji_pdfs(1), ids=lambda d: d.path.rsplit("/", 1)[1])
def test_every_update_notice_finds_its_index_link(doc: data.PdfDoc) -> None:
    notices = [i for i in data.update_items(1) if i.link == data.JINJI_INDEX_PATH]
    matching = [
        n for n in notices if personnel_key(n.title.partition("|")[2]) == personnel_key(doc.link_text)
    ]
    assert len(matching) == 1


URL_CHECKS = [
    ("release html", "/j/press/news/2025/10/24c.html", date(2025, 10, 24), False, False),
    (
        "release pdf, absolute",
        "https://www.mod.go.jp/j/press/news/2025/10/10a.pdf",
        date(2025, 10, 10),
        False,
        False,
    ),
    ("press conference, ad hoc", "/j/press/kisha/2025/1021a_r.html", date(2025, 10, 21), False, False),
    (
        "date in the file name",
        "/j/approach/exchange/area/2025/20251027_aus-j.html",
        date(2025, 10, 27),
        False,
        False,
    ),
    ("personnel pdf", "/j/press/jinji/2025/pdf/20251001_01.pdf", date(2025, 10, 1), False, True),
    ("personnel index", "/j/press/jinji/2025/index.html", None, True, True),
    ("personnel index, folder", "/j/press/jinji/2025/", None, True, True),
    ("impossible date", "/j/approach/20251341_x.html", None, False, False),
    ("no date", "/j/approach/defense/saigai/index.html", None, False, False),
]


@pytest.mark.parametrize(
    ("url", "day", "index", "personnel"), [c[1:] for c in URL_CHECKS], ids=[c[0] for c in URL_CHECKS]
)
def test_urls(url: str, day: date | None, index: bool, personnel: bool) -> None:
    assert (url_date(url), is_jinji_index(url), is_personnel("", url)) == (day, index, personnel)


MARKUP = [
    (
        "bold",
        "<b>重要</b>令和８年度自衛官候補生の募集について",
        "重要令和８年度自衛官候補生の募集について",
        True,
    ),
    ("attributes and entities", '<span class="x">A&amp;B</span>', "A&B", True),
    ("a less-than sign is text", "A<B と C>D", "A<B と C>D", False),
    (
        "plain",
        "日ＡＳＥＡＮ防衛当局次官級会合の開催について",
        "日ＡＳＥＡＮ防衛当局次官級会合の開催について",
        False,
    ),
    ("full-width space kept", "令和７年１０月１日付　将補人事", "令和７年１０月１日付　将補人事", False),
]


@pytest.mark.parametrize(("raw", "text", "had"), [c[1:] for c in MARKUP], ids=[c[0] for c in MARKUP])
def test_strip_markup(raw: str, text: str, had: bool) -> None:
    assert strip_markup(raw) == (text, had)


def test_squash_folds_layout_whitespace_only() -> None:
    assert squash("\n  令和７年　付\u00a0\t人事 \n") == "令和７年　付 人事"


# -- PDFs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", list(data.ALL_PDFS.values()), ids=lambda d: d.path.rsplit("/", 1)[1])
def test_read_pdf_gives_back_the_lines_as_written(doc: data.PdfDoc) -> None:
    """The layout wrapped long lines; reading joins them again, with no space."""
    assert wrap(doc.lines) != list(doc.lines) or doc.path.startswith("/j/press/jinji/")
    read = read_pdf(pdfs.committed(doc.path), "application/pdf")
    assert (read.text, read.problem, read.pages) == (doc.text, None, 1)


BAD_PDFS = [
    (
        "an HTML page",
        render.PDF_ERROR_PAGE.encode(),
        "text/html; charset=UTF-8",
        "pdf_not_a_pdf",
        "text/html",
    ),
    (
        "random bytes as application/pdf",
        pdfs.garbage(data.FAKE_PDF_GARBAGE_PATH),
        "application/pdf",
        "pdf_not_a_pdf",
        "%PDF- header",
    ),
    (
        "cut in half",
        pdfs.committed(data.BIG_PDF_PATH)[:1500],
        "application/pdf",
        "pdf_unreadable",
        "cannot be read",
    ),
    ("a header and nothing else", b"%PDF-1.4\n", "application/pdf", "pdf_unreadable", "cannot be read"),
    ("empty", b"", "", "pdf_not_a_pdf", "%PDF- header"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "problem", "words"), [c[1:] for c in BAD_PDFS], ids=[c[0] for c in BAD_PDFS]
)
def test_read_pdf_names_what_is_wrong(body: bytes, content_type: str, problem: str, words: str) -> None:
    read = read_pdf(body, content_type)
    assert (read.text, read.problem) == (None, problem)
    assert read.reason is not None and words in read.reason


def test_the_big_pdf_is_still_readable() -> None:
    assert read_pdf(pdfs.enlarged(data.BIG_PDF_PATH)).text == data.ALL_PDFS[data.BIG_PDF_PATH].text


JOINS = [
    (
        "short document: nothing joined",
        ["人事発令", "令和７年１０月１日付"],
        ["人事発令", "令和７年１０月１日付"],
    ),
    (
        "table rows are never joined",
        ["あ" * 30, "１等陸佐　宮﨑　花子　　" + "い" * 19, "（第１５旅団司令部幕僚長）"],
        ["あ" * 30, "１等陸佐　宮﨑　花子　　" + "い" * 19, "（第１５旅団司令部幕僚長）"],
    ),
    ("Latin words keep their space", ["a" * 60 + "x", "yes", "b" * 20], ["a" * 60 + "x yes", "b" * 20]),
    ("blank lines and trailing spaces go", ["本文です。  ", "", "  ", "終わり"], ["本文です。", "終わり"]),
]


@pytest.mark.parametrize(("lines", "expected"), [c[1:] for c in JOINS], ids=[c[0] for c in JOINS])
def test_join_wrapped_lines(lines: list[str], expected: list[str]) -> None:
    assert join_wrapped_lines(lines) == expected


@given(
    st.lists(
        st.text(alphabet="防衛省令和年月日、。「」（）ＡＢ１２ab3 ", min_size=1, max_size=120)
        .map(str.strip)
        .filter(bool),
        min_size=1,
        max_size=8,
    )
)
def test_joining_wrapped_lines_only_removes_line_breaks(lines: list[str]) -> None:
    wrapped = wrap(lines)
    joined = join_wrapped_lines(wrapped)
    assert "".join(joined).replace(" ", "") == "".join(lines).replace(" ", "")
    assert len(joined) <= len(wrapped)
