"""A feed item's article page is read in trafilatura's fast mode unless cheap checks doubt that
reading (crawler.extract.read_feed_article). On every page kind the tests have, the result is
the full mode's reading (today's), or differs from it only by lines of furniture the fast mode
left out: never a body paragraph lost, never a line added."""

from __future__ import annotations

import html as html_lib
from pathlib import Path

import feedparser
import pytest

from crawler.extract import Article, doubt, extract_article, read_feed_article
from imitations.feed.articles import ARTICLES, BOILERPLATE_MARKERS
from imitations.feed.articles import render as render_feed_article
from imitations.jdefense import data as D
from imitations.jdefense import render, zoo
from imitations.mod import data as MD
from imitations.mod import render as mod_render

URL = "http://site.test/a"
RANKING_0 = {w: [D.BY_ID[i] for i in ids] for w, ids in D.RANKINGS[0].items()}
# Articles chosen for their bodies: plain, a list of appointments, a quoted release, a long
# one, lines broken with <br>, a short one (under trafilatura's own minimum in some families).
ZOO_ARTICLES = ("004400", "004404", "004413", "004424", "004433", "004448")


def _page(title: str, content: str, *, related: str = "Other news") -> str:
    """A news page around ``content``: header with a tagline and menu, related links, footer."""
    return (
        f"<!DOCTYPE html><html><head><title>{html_lib.escape(title)} | News</title></head><body>"
        '<div id="header"><p class="catch">Defence news every day</p><ul class="gnav">'
        '<li><a href="/">Home</a></li><li><a href="/news/">News</a></li></ul></div>'
        f"<main><article><h1>{html_lib.escape(title)}</h1><p class='date'>2025-02-13</p>"
        f'{content}</article><aside class="related"><h2>Related</h2><ul><li><a href="/o/1">{related}'
        "</a></li></ul></aside></main><footer><p>Subscribe to our newsletter.</p></footer></body></html>"
    )


def _corpus_pages() -> list[tuple[str, str, str, str]]:
    """Pages made of the feedparser corpus's richest entries (their HTML content)."""
    found: dict[str, tuple[str, str, str, str]] = {}
    root = Path(__file__).parent / "corpus" / "feedparser" / "wellformed"
    for path in sorted(root.rglob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            for value in [c.get("value", "") for c in entry.get("content") or []] + [
                entry.get("summary", "")
            ]:
                if value and value not in found:
                    found[value] = (
                        f"corpus/{path.parent.name}/{path.stem}",
                        value,
                        entry.get("title", ""),
                        "",
                    )
    richest = sorted(found.values(), key=lambda page: -len(page[1]))[:6]
    return [(name, _page(title or "Item", value), title, summary) for name, value, title, summary in richest]


LONG = " ".join(
    f"Paragraph {i} of the report says the frigate programme moved on in the {i}th month." for i in range(6)
)
# Pages built to be hard: where a fast reading could take furniture or a fragment for the article.
HARD = [
    ("hard/links-only", _page("Index", "<ul>" + "".join(f"<li><a href='/s/{i}'>Story {i}</a></li>" for i in range(30)) + "</ul>"), "Index", ""),
    ("hard/stub", _page("Paywalled", "<p>Subscribe to read the rest of this story.</p>"), "Paywalled", "The navy said"),
    ("hard/empty", "<html><body></body></html>", "Nothing", ""),
    ("hard/headline-in-one-line", _page("One line", f"<div>One line 2025-02-13 {LONG} Share X Facebook</div>"), "One line", ""),
    ("hard/body-in-sidebar", "<html><body><main><h1>T</h1><p>Short lead.</p></main><aside class='sidebar'>"
     + "".join(f"<p>{LONG} {i}</p>" for i in range(3)) + "</aside></body></html>", "T", LONG[:150]),
    ("hard/related-longer", _page("Short", f"<p>{LONG}</p>", related=LONG), "Short", LONG[:150]),
    ("hard/links-after-the-story", _page("Links", f"<p>{LONG}</p><div class='more'><p>See also</p>"
     "<a href='/x'>The frigate programme explained in full</a></div>"), "Links", LONG[:150]),
    ("hard/note-with-a-link", _page("Note", f"<p>{LONG}</p><div class='note'><p>{LONG[:300]} and more"
     " on the programme's history</p><a href='/src'>Source</a></div>"), "Note", LONG[:150]),
    ("hard/comments", _page("Comments", f"<p>{LONG}</p><div class='comments'>"
     + "".join(f"<p>Reader {i}: I disagree with the report entirely and so on.</p>" for i in range(10)) + "</div>"), "Comments", LONG[:150]),
]  # fmt: skip


def _pages() -> list[tuple[str, str, str, str]]:
    """(name, html, the feed item's title, its summary) for every page kind."""
    pages = []
    for family in zoo.FAMILIES:
        for article_id in ZOO_ARTICLES:
            a = zoo.article(article_id)
            html = zoo.render_article(family, a, zoo.ZOO_RANKING)
            pages.append((f"zoo/{family.name}/{article_id}", html, a.title, a.body[0]))
    for article_id in ("004400", "004401", "004424", "004432", D.SHARED_STORY_ID):
        a = D.BY_ID[article_id]
        page = render.article_page(a, RANKING_0, "http://jd.test")
        pages.append((f"jdefense/{article_id}", page, a.title, a.body[0]))
        no_date = render.article_page(a, RANKING_0, "http://jd.test", no_date=True)
        pages.append((f"jdefense/{article_id}/no-date", no_date, a.title, ""))
        pages.append((f"jdefense/{article_id}/truncated", render.truncate(page, a), a.title, a.body[0]))
    for path, feed_article in ARTICLES.items():
        summary = feed_article.paragraphs[0][:120] + " [...]"
        pages.append((f"feed{path}", render_feed_article(feed_article), feed_article.title, summary))
        pages.append((f"feed{path}/editorial-summary", render_feed_article(feed_article), "", "Our take."))
    for release in MD._RELEASE_PAGES:
        if release.answer == MD.PAGE:
            pages.append((f"mod{release.path}", mod_render.release_page(release), release.title, ""))
    return pages + _corpus_pages() + HARD


PAGES = _pages()
# The only differences, each a box of furniture the full mode's reading keeps and this one
# leaves out: the date line and the author box ("この記事を書いた人") of two zoo families, and
# the related-links box ("関連リンク") of the J-Defense imitation's pages without a date line.
LEFT_OUT = {
    **{f"zoo/{family}/{i}": "この記事を書いた人" for family in ("anchor-tabs", "cards") for i in ("004400", "004433")},
    "jdefense/004401/no-date": "関連リンク",
}  # fmt: skip


@pytest.mark.parametrize(("name", "html", "title", "summary"), PAGES, ids=[p[0] for p in PAGES])
def test_the_reading_is_the_full_modes_or_leaves_out_furniture(
    name: str, html: str, title: str, summary: str
) -> None:
    body = html.encode()
    full = extract_article(body, URL, metadata=False, title=title or None)
    read = read_feed_article(body, URL, metadata=False, title=title or None, summary=summary)
    if name not in LEFT_OUT:
        assert read == full
        return
    assert read is not None and full is not None
    kept, theirs = read.text.splitlines(), full.text.splitlines()
    assert set(kept) < set(theirs)  # nothing added
    assert kept == [line for line in theirs if line in kept]  # in the same order
    a = D.BY_ID[name.split("/")[2 if name.startswith("zoo") else 1]]
    dropped = set(theirs) - set(kept)
    assert not any(line in paragraph for line in dropped for paragraph in a.body)  # no body text lost
    assert LEFT_OUT[name] in dropped


def test_pages_as_the_feed_benchmark_serves_them_are_read_fast() -> None:
    """The imitation site's article pages pass the checks (so the saving is real), and a
    fast reading of a page whose text runs over its head is doubted."""
    a = D.BY_ID["004400"]
    from trafilatura.utils import load_html

    tree = load_html(render.article_page(a, RANKING_0, "http://jd.test").encode())
    fast = extract_article(tree, URL, metadata=False, title=a.title, fast=True)
    assert fast is not None and doubt(fast.text, tree, a.title, a.body[0]) is None
    b = zoo.article("004405")  # read as one line, from the headline to the share buttons
    classic = load_html(zoo.render_article(zoo.BY_NAME["classic"], b, zoo.ZOO_RANKING).encode())
    flat = extract_article(classic, URL, metadata=False, title=b.title, fast=True)
    assert flat is not None and doubt(flat.text, classic, b.title) == "the headline is inside the text"


def _tree(html: str) -> object:
    from trafilatura.utils import load_html

    return load_html(html)


LEAD = "The navy ordered four more ships on Tuesday, officials in the capital confirmed to reporters."
PAGE = _page("Frigate", f"<p>{LEAD}</p><p>{LONG}</p>")


@pytest.mark.parametrize(
    ("text", "title", "summary", "expected"),
    [
        (LONG, "Frigate", LONG[:100] + "…", None),
        (LONG, "Frigate", "An editor's summary the page does not show at all, in other words.", None),
        (LONG[:200], "Frigate", "", "short (200 characters)"),
        ("Frigate " + LONG, "Frigate", "", "the headline is inside the text"),
        (LONG + "\nDefence news every day", "", "", "a line of the page's div is in the text: 'Defence news every day'"),
        (LONG + "\nOther news", "", "", "a line of the page's a is in the text: 'Other news'"),
        (LONG + "\nSubscribe to our newsletter.", "", "", "a line of the page's footer is in the text: 'Subscribe to our newsletter.'"),
        (LONG, "", LEAD, "the reading misses the summary that the page shows"),
    ],
    ids=["whole", "editorial-summary", "short", "headline", "tagline", "link", "footer", "summary-missed"],
)  # fmt: skip
def test_doubt(text: str, title: str, summary: str, expected: str | None) -> None:
    assert doubt(text, _tree(PAGE), title, summary) == expected  # type: ignore[arg-type]


def test_the_feed_imitations_pages_keep_no_boilerplate() -> None:
    for path, feed_article in ARTICLES.items():
        read = read_feed_article(render_feed_article(feed_article), URL, title=feed_article.title)
        assert isinstance(read, Article), path
        assert not any(marker in read.text for marker in BOILERPLATE_MARKERS)
