"""The install has every extractor working: a fresh install once resolved lxml 6 without
``lxml_html_clean``, and justext and trafilatura then failed on every article page
("lxml.html.clean module is now a separate project"). ``make test`` fails here if any
reader of pages cannot be imported or cannot read a page."""

from __future__ import annotations

import importlib

import pytest

from crawler.extract import extract_article

PAGE = (
    "<html><head><title>Exercise</title></head><body><nav>Home | News</nav><article>"
    "<h1>Exercise</h1>"
    + "<p>The Ground Self-Defense Force began a joint exercise with allied forces on Monday.</p>" * 6
    + "</article><footer>Contact</footer></body></html>"
)


@pytest.mark.parametrize("module", ["lxml.html.clean", "justext", "trafilatura", "htmldate", "pypdf"])
def test_every_page_reader_imports(module: str) -> None:
    importlib.import_module(module)


def test_an_article_page_is_read_with_the_installed_extractors() -> None:
    import justext

    paragraphs = justext.justext(PAGE.encode(), justext.get_stoplist("English"))
    assert any("joint exercise" in p.text for p in paragraphs)
    article = extract_article(PAGE, "http://example.org/a")
    assert article is not None and "joint exercise" in article.text
