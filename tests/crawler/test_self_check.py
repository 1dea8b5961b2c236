"""The body-agreement self-check reads with trafilatura's fast mode (no justext/readability
comparison): on every template family and on the pages built to fail the check, it gives the
verdict the full mode gives. Where they differ, the fast check fails and the full one had
replaced the body: it is never the one that lets a body through."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.article_body import _found_in, _shingles
from crawler.extract_article import ArticleFields, parse_page, read_article
from crawler.jdefense_read import ArticleUrls, ranking_block
from crawler.selectors import article_selectors
from imitations.jdefense import data as D
from imitations.jdefense import render, zoo
from tests.crawler.test_extract_article import ROUTE_CASES

HOST = "http://jd.test"
ARTICLE = zoo.article("004433")
RANKING_0 = {w: [D.BY_ID[i] for i in ids] for w, ids in D.RANKINGS[0].items()}


def both(html: str, path: str, selectors: Any = None) -> tuple[ArticleFields, ArticleFields]:
    """The page read with the fast check and with the full one."""
    out = []
    for thorough in (False, True):
        page = parse_page(html, HOST + path)
        assert page is not None
        block = ranking_block(page, ArticleUrls("jd.test"))
        out.append(read_article(page, exclude=block.elements(), selectors=selectors, thorough=thorough))
    return out[0], out[1]


def verdict(f: ArticleFields) -> tuple[Any, ...]:
    return (f.title, f.published, f.paragraphs, f.routes, [(c.name, c.passed) for c in f.checks], f.problem)


@pytest.mark.parametrize("family", zoo.FAMILIES, ids=[f.name for f in zoo.FAMILIES])
def test_every_family_gets_the_same_verdict(family: zoo.Family) -> None:
    for article_id in ("004400", "004401", "004433"):  # one quoting the release, the shared story
        a = zoo.article(article_id)
        fast, full = both(zoo.render_article(family, a, zoo.ZOO_RANKING), a.path)
        assert verdict(fast) == verdict(full)
        assert fast.problem is None and fast.paragraphs == a.body
    # A selector that reads the wrong box: the check fails (or, in the full mode,
    # trafilatura's fuller reading replaced it); never a wrong body passed as right.
    failed = 0
    for wrong in (".author", ".share", "footer"):
        html = zoo.render_article(family, ARTICLE, zoo.ZOO_RANKING)
        fast, full = both(html, ARTICLE.path, article_selectors({"body": wrong}))
        if fast.problem is None:
            assert verdict(fast) == verdict(full)
        else:
            assert full.problem is not None or full.routes["body"] == "trafilatura"
            failed += 1
    assert failed >= 1


@pytest.mark.parametrize("article_id", ["004400", "004401", "004426", D.SHARED_STORY_ID])
def test_imitation_pages_get_the_same_verdict(article_id: str) -> None:
    a = D.BY_ID[article_id]
    page = render.article_page(a, RANKING_0, HOST)
    for html in (page, render.article_page(a, RANKING_0, HOST, no_date=True), render.truncate(page, a)):
        fast, full = both(html, a.path)
        assert verdict(fast) == verdict(full)


def test_pages_built_to_fail_get_the_same_verdict() -> None:
    body = "".join(f"<p>{p}</p>" for p in ARTICLE.body)
    head = f"<html><head><title>{ARTICLE.title}</title></head><body><article><h1>{ARTICLE.title}</h1>"
    pages = [
        # the visible reading stops at a box it takes for furniture: trafilatura's fuller one is taken
        f"{head}<div>{ARTICLE.date_line}</div><div><p>{ARTICLE.body[0]}</p>"
        f"<div><p>シェアの前に</p><p>{ARTICLE.body[1]}</p></div>{body}</div></article></body></html>",
        # no body: neither the title, the date line nor a share or author box is taken for one
        f"{head}<div>{ARTICLE.date_line}</div></article><footer>Copyright</footer></body></html>",
        f"{head}<div>{ARTICLE.date_line}</div><div class='share'><p>この記事をシェア</p><ul><li>"
        "<a href='https://x.com/'>X</a></li></ul></div></article><footer>Copyright</footer></body></html>",
        f"{head}<div>{ARTICLE.date_line}</div><div class='author'><h4>この記事を書いた人</h4>"
        f"<p>{zoo.AUTHOR_TEXT}</p></div></article><footer>Copyright</footer></body></html>",
    ]
    for html in pages:
        fast, full = both(html, ARTICLE.path)
        assert verdict(fast) == verdict(full)
    for _, html, expected in ROUTE_CASES:  # each route forced, trafilatura's title included
        fast, full = both(html.replace("{title}", expected[0]).replace("{meta}", ""), "/docs/mod/004400.html")
        assert verdict(fast) == verdict(full)


_TEXT = st.text(alphabet="防衛省アＡａB b\n 　,.", max_size=60)


@settings(max_examples=60, deadline=None)
@given(theirs=st.lists(_TEXT, max_size=4), non_body=_TEXT)
def test_runs_are_looked_up_in_the_non_body_text_as_if_it_were_cut_into_runs(
    theirs: list[str], non_body: str
) -> None:
    runs = _shingles(theirs)
    assert _found_in(runs, non_body) == _shingles(non_body.split("\n")) & runs
