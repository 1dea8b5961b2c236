"""The J-Defense readers on pages built to break them (each self-check fails loudly), under
renamed and rewrapped markup (hypothesis), and as ``defwatch inspect --file`` shows them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract_article import parse_page, read_article
from crawler.jdefense_read import ArticleUrls, ranking_block
from crawler.url_shape import link_lists, listing_problem
from imitations.jdefense import zoo
from tests.conftest import Defwatch

HOST = "http://jd.test"
ACCEPT = ArticleUrls("jd.test")
ARTICLE = zoo.article("004433")


def read(html: str):  # type: ignore[no-untyped-def]
    page = parse_page(html, HOST + ARTICLE.path)
    assert page is not None
    block = ranking_block(page, ACCEPT)
    return block, read_article(page, exclude=block.elements())


def _links(ids: list[str], numbers: list[int] | None = None) -> str:
    out = ""
    for i, x in enumerate(ids):
        n = f"<span>{numbers[i]}</span>" if numbers else ""
        out += f'<li>{n}<a href="{zoo.article(x).path}">{zoo.article(x).title}</a></li>'
    return out


def block_page(lists: list[str]) -> str:
    tabs = "".join(f"<li>{label}</li>" for label in ("24時間", "1週間", "1ヶ月"))
    panels = "".join(f"<ol>{x}</ol>" for x in lists)
    return f"<html><body><main><h1>x</h1></main><aside><div><h3>Ranking</h3><ul>{tabs}</ul>{panels}</div></aside></body></html>"


GOOD = _links(zoo.ZOO_RANKING["24h"])
BROKEN = [
    ("too-few", [GOOD, _links(["004433"]), GOOD], "1w", "count"),
    ("rank-gap", [GOOD, _links(zoo.ZOO_RANKING["24h"], [1, 2, 4, 5, 6, 7]), GOOD], "1w", "ranks"),
    ("repeated-article", [GOOD, GOOD + _links(["004433"]), GOOD], "1w", "distinct"),
    (
        "untitled-entry",
        [GOOD, GOOD + f'<li><a href="{zoo.article("004400").path}"><img src="/t.jpg" alt=""></a></li>', GOOD],
        "1w",
        "titled",
    ),
    (
        "titles-repeat",
        [GOOD, GOOD.replace(zoo.article("004431").title, zoo.article("004433").title), GOOD],
        "1w",
        "titles-differ",
    ),
    (
        "link-outside-shape",
        [GOOD, GOOD.replace(zoo.article("004431").path, "/article/4431/"), GOOD],
        "1w",
        "url-shape",
    ),
]


def _moved(html: str) -> str:
    """Every article link of ``html`` moved to a URL of another shape."""
    return re.sub(r"/docs/[a-z]+/(\d{6})\.html", r"/article/\1/", html)


def test_lists_outside_the_article_url_shape_are_said() -> None:
    # A ranking whose lists all moved: the block is unreadable, and says why.
    block, _ = read(block_page([_moved(GOOD)] * 3))
    assert block.problem == (
        "ranking block has 3 tabs and 18 entry links, none in the site's article URL shape "
        f"(e.g. {HOST}/article/004433/)"
    )
    # A home list that moved, one where a single title link of five did (counted, not a
    # problem), one where four of five did.
    listing = "".join(
        f'<li><a href="{zoo.article(x).path}">{zoo.article(x).title}</a></li>' for x in zoo.ZOO_HOME
    )
    nav = '<nav><a href="/docs/mod/">日本の防衛</a><a href="/page/2/">次へ</a></nav>'
    for html, problem, outside in [
        (
            _moved(listing),
            "a list of 5 title links, none in the article URL shape S "
            f"(e.g. {HOST}/article/004433/): have the site's URLs changed?",
            0,
        ),
        (listing.replace(zoo.article("004420").path, "/article/004420/"), None, 1),
        (
            _moved(listing).replace("/article/004420/", zoo.article("004420").path),
            f"a list has 4 title links outside the article URL shape S beside 1 in it (e.g. {HOST}/article/004433/)",
            4,
        ),
    ]:
        page = parse_page(f"<html><body>{nav}<main><ul>{html}</ul></main></body></html>", HOST + "/")
        assert page is not None
        lists = link_lists(page, ACCEPT)
        assert listing_problem(lists, "S") == problem
        assert sum(len(x.outside) for x in lists if x.in_shape) == outside


@pytest.mark.parametrize(("lists", "window", "check"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_window_built_to_break_a_check_fails_it(lists: list[str], window: str, check: str) -> None:
    block, _ = read(block_page(lists))
    assert block.problem is None
    assert check in [c.name for c in block.failed(window)]
    assert window not in block.passing() and "24h" in block.passing()


def test_a_body_selector_that_reads_the_wrong_box_fails_its_check() -> None:
    from crawler.selectors import article_selectors

    page = parse_page(
        zoo.render_article(zoo.BY_NAME["wordpress"], ARTICLE, zoo.ZOO_RANKING), HOST + ARTICLE.path
    )
    assert page is not None
    fields = read_article(page, selectors=article_selectors({"body": ".author"}))
    assert fields.routes["body"] == "selectors"
    assert fields.problem is not None and "body-agreement: the selectors reading covers 0%" in fields.problem


@pytest.mark.parametrize(
    "after_date",
    [
        "",
        "<div class='share'><p>この記事をシェア</p><ul><li><a href='https://x.com/'>X</a></li></ul></div>",
        f"<div class='author'><h4>この記事を書いた人</h4><p>{zoo.AUTHOR_TEXT}</p></div>",
    ],
    ids=["nothing", "share-box", "author-box"],
)
def test_an_article_without_a_body_fails_its_body_check(after_date: str) -> None:
    # Neither the date line, the title nor a box of furniture is taken for a body.
    html = (
        f"<html><head><title>{ARTICLE.title}</title></head><body><article><h1>{ARTICLE.title}</h1>"
        f"<div>{ARTICLE.date_line}</div>{after_date}</article><footer>Copyright</footer></body></html>"
    )
    _, fields = read(html)
    assert fields.paragraphs == [] and fields.problem == "body: 0 paragraphs by no route"


def test_tabs_without_panels_is_a_problem() -> None:
    block, _ = read(block_page([GOOD]))
    assert block.found and block.problem == "ranking block has 3 tabs but 1 lists"
    assert block.passing() == {}


def test_a_body_trafilatura_reads_much_more_of_fails_or_is_replaced() -> None:
    # The body's text sits after a box the reader takes for furniture ("シェア" in its first
    # words): the visible reading stops early, trafilatura's fuller reading is taken.
    body = "".join(f"<p>{p}</p>" for p in ARTICLE.body)
    html = (
        f"<html><body><article><h1>{ARTICLE.title}</h1><div>{ARTICLE.date_line}</div><div>"
        f"<p>{ARTICLE.body[0]}</p><div><p>シェアの前に</p><p>{ARTICLE.body[1]}</p></div>{body}</div></article></body></html>"
    )
    _, fields = read(html)
    agreement = next(c for c in fields.checks if c.name == "body-agreement")
    assert fields.routes["body"] == "trafilatura" or not agreement.passed
    assert "covers" in agreement.detail


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(zoo.FAMILIES),
    names=st.dictionaries(
        st.sampled_from(["entry-body", "ranking", "tabs", "rank-list", "share", "date"]),
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    ),
    wrap=st.integers(min_value=0, max_value=3),
    sidebar_first=st.booleans(),
)
def test_renamed_and_rewrapped_markup_reads_the_same(
    family: zoo.Family, names: dict[str, str], wrap: int, sidebar_first: bool
) -> None:
    style = zoo.Style(cls=lambda n: names.get(n, n + "-x"), wrap=wrap, sidebar_first=sidebar_first)
    block, fields = read(zoo.render_article(family, ARTICLE, zoo.ZOO_RANKING, "", style))
    assert fields.title == ARTICLE.title
    assert fields.paragraphs == ARTICLE.body
    assert fields.problem is None
    assert {w: [e.url for e in entries] for w, entries in block.passing().items()} == {
        w: [HOST + zoo.article(x).path for x in ids] for w, ids in zoo.ZOO_RANKING.items()
    }


def test_inspect_file_prints_what_each_reader_read(tmp_path: Path) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(zoo.render_article(zoo.BY_NAME["cards"], ARTICLE, zoo.ZOO_RANKING), encoding="utf-8")
    dw = Defwatch(tmp_path)
    result = dw(
        "inspect", "https://j-defense.ikaros.jp" + ARTICLE.path, "--kind", "jdefense", "--file", str(saved)
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"title: {ARTICLE.title!r} (by visible)" in out
    assert "body: 5 paragraphs (by visible)" in out
    assert "section: mod (by url)" in out
    assert "ok ranks: 1..6 shown" in out and "24h: 6 entries" in out
    assert "    ok url-shape" in out and "list checks:\n  ok url-shape" in out


# ---- bad input: the readers answer with a reason, fast --------------------------------------------

BASE_PAGE = zoo.render_article(zoo.BY_NAME["classic"], ARTICLE, zoo.ZOO_RANKING)
OTHER = zoo.ranking_block(zoo.BY_NAME["classic"], {w: ids[::-1] for w, ids in zoo.ZOO_RANKING.items()})
MANY_LINKS = "".join(f'<li><a href="/docs/mod/{i:06d}.html">記事{i}</a></li>' for i in range(10000))
BIG = "<p>" + "防衛" * 50 + "</p>\n"

BAD_PAGES = [
    ("three-blocks", BASE_PAGE.replace("<footer", OTHER + OTHER + "<footer"), "list different articles"),
    ("10000-links", BASE_PAGE.replace("<footer", f"<div><ul>{MANY_LINKS}</ul></div><footer"), None),
    (
        "nesting-5000",
        BASE_PAGE.replace("<footer", "<div>" * 5000 + "<p>深い</p>" + "</div>" * 5000 + "<footer"),
        None,
    ),
    ("20MB", BASE_PAGE.replace("<footer", BIG * (20_000_000 // len(BIG.encode())) + "<footer"), None),
    ("duplicated-ids", BASE_PAGE.replace('id="rk-1w"', 'id="rk-24h"'), None),
]


@pytest.mark.parametrize(("html", "problem"), [c[1:] for c in BAD_PAGES], ids=[c[0] for c in BAD_PAGES])
def test_bad_input_is_answered_with_a_reason(html: str, problem: str | None) -> None:
    block, fields = read(html)
    assert fields.title == ARTICLE.title and fields.paragraphs == ARTICLE.body and fields.problem is None
    if problem is None:  # what is there is still read right
        assert {w: [e.url for e in entries] for w, entries in block.passing().items()} == {
            w: [HOST + zoo.article(x).path for x in ids] for w, ids in zoo.ZOO_RANKING.items()
        }
    else:
        assert block.problem is not None and problem in block.problem and block.passing() == {}


def test_saved_pages_are_bounded_per_source_and_reason(tmp_path: Path) -> None:
    from crawler.saved_pages import KEEP, save_page

    for i in range(KEEP + 3):
        save_page(tmp_path, "jdefense", "ranking_1w", f"http://x/{i}", f"<html>{i}</html>")
    kept = sorted((tmp_path / "pages" / "jdefense" / "ranking-1w").glob("*.html"))
    assert len(kept) == KEEP
    assert "<html>5</html>" in kept[-1].read_text()


def test_an_empty_widget_beside_the_home_list_does_not_hide_it() -> None:
    # The widget's lists are filled by script; it sits in plain divs next to the list.
    tabs = "".join(f'<button role="tab">{label}</button>' for label in ("24時間", "1週間", "1ヶ月"))
    listing = "".join(
        f'<li><a href="{zoo.article(x).path}">{zoo.article(x).title}</a></li>' for x in zoo.ZOO_HOME
    )
    html = (
        f'<html><body><div class="wrap"><div class="col"><h1>新着</h1><ul>{listing}</ul></div>'
        f'<div class="side"><div class="w"><h3>Ranking</h3><div role="tablist">{tabs}</div>'
        '<div class="p"><ul></ul><ul></ul><ul></ul></div></div></div></div></body></html>'
    )
    page = parse_page(html, HOST + "/")
    assert page is not None
    block = ranking_block(page, ACCEPT)
    assert block.problem == "ranking block has 3 tabs and no article links (lists built by script?)"
    from crawler.extract_article import links

    listed = [link.url for link in links(page, ACCEPT, exclude=block.elements())]
    assert listed == [HOST + zoo.article(x).path for x in zoo.ZOO_HOME]


def test_ranking_titles_are_checked_against_the_articles_own() -> None:
    from crawler.jdefense_read import title_check

    assert title_check(
        [(1, "防衛省が日ASEAN防衛当局次官級会合の開催…", ARTICLE.title), (2, "x", None)]
    ).passed
    failed = title_check([(1, ARTICLE.title, ARTICLE.title), (2, "別の記事の見出しです", ARTICLE.title)])
    assert not failed.passed and "rank 2 reads '別の記事の見出しです'" in failed.detail


# ---- an article page's block read for its bounds only (the page worker) -----------------------------


def _same_pages() -> list[tuple[str, str]]:
    pages = [(f"{f.name}-article", zoo.render_article(f, ARTICLE, zoo.ZOO_RANKING)) for f in zoo.FAMILIES]
    pages += [(f"{f.name}-home", zoo.render_home(f)) for f in zoo.FAMILIES]
    pages += [(name, block_page(lists)) for name, lists, *_ in BROKEN]
    pages += [(name, html) for name, html, _ in BAD_PAGES if name in ("three-blocks", "duplicated-ids")]
    return pages


def test_a_block_read_without_checks_is_the_same_block() -> None:
    # read_article_page (the worker) reads the block only to leave it out of the body: the
    # same bounds, windows and problem as the full reading, on every page built to vary it.
    for name, html in _same_pages():
        page = parse_page(html, HOST + ARTICLE.path)
        assert page is not None
        full, bounds = ranking_block(page, ACCEPT), ranking_block(page, ACCEPT, checks=False)
        assert (bounds.element, bounds.problem, bounds.route) == (full.element, full.problem, full.route), (
            name
        )
        assert bounds.elements() == full.elements(), name
        assert {w: [(e.text, e.url) for e in x] for w, x in bounds.windows.items()} == {
            w: [(e.text, e.url) for e in x] for w, x in full.windows.items()
        }, name
        assert bounds.checks == {} and set(full.checks) == set(full.windows), name
        assert read_article(page, exclude=bounds.elements()) == read_article(page, exclude=full.elements()), (
            name
        )
        if bounds.windows:  # unchecked windows never pass for checked ones
            with pytest.raises(ValueError, match="without its checks"):
                bounds.passing()
