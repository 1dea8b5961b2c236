"""Kind ``page`` against a local site: a paginated press-release listing read with CSS and
with XPath selectors, crawled twice; pagination limits; selectors that stop matching;
invalid selectors at start-up; and the recipes in docs/sources.md.

Each crawl is the real ``defwatch crawl`` in a subprocess (Scrapy's reactor cannot restart).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from parsel import Selector

from crawler.spiders.page import _value
from tests.conftest import Defwatch
from tests.crawler.feedsite import (
    Crawls,
    LocalSite,
    config_toml,
    crawl_series,
    documented_recipes,
    pointed_at,
    serve,
    source_toml,
)

LONDON = ZoneInfo("Europe/London")
PER_PAGE = [3, 3, 1, 1]  # stories on each page of the listing at /press/
LISTED = 7  # on the first three pages; the fourth lies beyond max_pages = 3

CSS = {
    "item": "li.news-item",
    "link": "h3 a::attr(href)",
    "title": "h3 a",
    "date": "time::text",
    "date_format": "%d %B %Y",
    "next": "a.next::attr(href)",
    "max_pages": 3,
}
XPATH = {
    "selector_type": "xpath",
    "item": "//ul[@class='news-list']/li",
    "link": ".//h3/a",
    "title": ".//h3/a/text()",
    "date": ".//time",
    "next": "//a[@rel='next']/@href",
    "max_pages": 3,
}


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    with serve() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_site(site: LocalSite) -> None:
    site.reset()


def listing_paths(crawls: Crawls, run: int) -> list[str]:
    return [h.path for h in crawls.hits[run] if h.path.startswith("/press/") and not h.path.endswith(".html")]


# --------------------------------------------------------------------------------------
# The listing with CSS selectors, twice
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def css(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    source = source_toml(name="press", kind="page", url=site.url("/press/"), timezone="Europe/London", **CSS)
    return crawl_series(site, tmp_path_factory.mktemp("css"), config_toml(source), epochs=[0, 0])


def test_first_run_reads_max_pages_pages(css: Crawls) -> None:
    first = css.runs("press")[0]
    assert (first["outcome"], first["new_stories"], first["errors"]) == ("ok", LISTED, 0)
    assert listing_paths(css, 0) == ["/press/", "/press/?page=2", "/press/?page=3"]


def test_listed_story(css: Crawls) -> None:
    story = css.stories("press")["press/2025/02/10/defence-budget-statement.html"]
    assert story["title"] == "Statement on the 2025 defence budget"
    assert story["published"] == datetime(2025, 2, 10, tzinfo=LONDON)
    assert story["extra"]["published_tz_assumed"] is True
    assert (story["kind"], story["complete"]) == ("item", False)


def test_second_run_is_answered_304_and_reads_no_further(css: Crawls) -> None:
    second = css.runs("press")[1]
    assert (second["outcome"], second["new_stories"], second["stats"]["not_modified"]) == ("ok", 0, 1)
    [hit] = [h for h in css.hits[1] if h.path == "/press/"]
    assert (hit.status, "If-None-Match" in hit.headers) == (304, True)
    assert listing_paths(css, 1) == ["/press/"]


# --------------------------------------------------------------------------------------
# The same listing with XPath selectors ending on elements, and articles fetched
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xpath(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    source = source_toml(name="press", kind="page", url=site.url("/press/"), fetch_articles=True, **XPATH)
    return crawl_series(site, tmp_path_factory.mktemp("xpath"), config_toml(source), epochs=[0])


def test_xpath_listing_with_articles(xpath: Crawls) -> None:
    run = xpath.runs("press")[0]
    assert (run["outcome"], run["new_stories"], run["errors"]) == ("ok", LISTED, 0)
    stories = xpath.stories("press")
    assert all(s["complete"] and s["kind"] == "article" for s in stories.values())


def test_xpath_story_reads_element_values(xpath: Crawls) -> None:
    story = xpath.stories("press")["press/2025/02/13/new-frigate-contract-signed.html"]
    assert story["title"] == "New frigate contract signed with national shipbuilder"
    assert story["published"] == datetime(2025, 2, 13, tzinfo=ZoneInfo("Asia/Tokyo"))  # <time datetime>
    assert story["body"].startswith("New frigate contract signed with national shipbuilder. The Ministry")
    assert "Accept all cookies" not in story["body"]


# --------------------------------------------------------------------------------------
# A listing without validators: known page, older pages not read; then a redesign
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def changing(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    source = source_toml(name="changing", kind="page", url=site.url("/changing/press/"), **CSS)
    return crawl_series(site, tmp_path_factory.mktemp("changing"), config_toml(source), epochs=[0, 0, 1])


def test_a_page_of_known_stories_ends_pagination(changing: Crawls) -> None:
    second = changing.runs("changing")[1]
    assert (second["outcome"], second["new_stories"], second["known_skipped"]) == ("ok", 0, 3)
    assert [h.path for h in changing.hits[1] if h.path != "/robots.txt"] == ["/changing/press/"]


def test_a_redesigned_listing_degrades_the_run(changing: Crawls) -> None:
    third = changing.runs("changing")[2]
    assert third["outcome"] == "degraded"
    assert 'selector item = "li.news-item" matched nothing at http' in third["reason"]
    assert changing.results[2].returncode == 0


# --------------------------------------------------------------------------------------
# Selectors that match nothing inside the items
# --------------------------------------------------------------------------------------

MISSING = {
    "link": "h4 a::attr(href)",
    "title": "h4",
    "date": "span.date::text",
}


@pytest.fixture(scope="module")
def missing(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    sources = [
        source_toml(
            name=f"no-{key}", kind="page", url=site.url("/press/"), **{**CSS, key: expr, "max_pages": 1}
        )
        for key, expr in MISSING.items()
    ]
    return crawl_series(site, tmp_path_factory.mktemp("missing"), config_toml(*sources), epochs=[0])


@pytest.mark.parametrize("key", MISSING)
def test_selector_matching_nothing_degrades_the_run(missing: Crawls, key: str) -> None:
    [run] = missing.runs(f"no-{key}")
    assert run["outcome"] == "degraded"
    assert f'selector {key} = "{MISSING[key]}" matched nothing in any of the 3 items' in run["reason"]


def test_stories_without_a_date_are_kept_undated(missing: Crawls) -> None:
    stories = missing.stories("no-date")
    assert len(stories) == 3
    assert all(s["published"] is None for s in stories.values())


# --------------------------------------------------------------------------------------
# Invalid selectors stop defwatch at start-up
# --------------------------------------------------------------------------------------

INVALID = [
    pytest.param("css", "item", "li[", id="css-item"),
    pytest.param("css", "next", "a.next::attr(", id="css-next"),
    pytest.param("xpath", "link", ".//a/@@href", id="xpath-link"),
    pytest.param("xpath", "date", "//time[", id="xpath-date"),
]


def _invalid_selector_config(selector_type: str, key: str, expr: str) -> str:
    selectors = dict(CSS if selector_type == "css" else XPATH)
    selectors[key] = expr
    return config_toml(
        source_toml(name="fine", kind="feed", url="http://127.0.0.1:9/feed/"),
        source_toml(name="ministry-press", kind="page", url="http://127.0.0.1:9/press/", **selectors),
    )


@pytest.mark.parametrize(("selector_type", "key", "expr"), INVALID)
def test_invalid_selector_is_a_start_up_error(
    defwatch: Defwatch, selector_type: str, key: str, expr: str
) -> None:
    defwatch.write_config(_invalid_selector_config(selector_type, key, expr))
    result = defwatch("crawl")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    kind = "CSS" if selector_type == "css" else "XPath"
    assert (
        f'defwatch.toml: sources[1].{key}: "{expr}" is not a valid {kind} selector in source "ministry-press"'
        in line
    )
    assert not (defwatch.cwd / "defwatch.db").exists()  # nothing ran, not even the valid source


def test_invalid_selector_error_names_the_source(defwatch: Defwatch) -> None:
    defwatch.write_config(_invalid_selector_config("css", "item", "li["))
    assert "ministry-press" in defwatch("crawl").stderr


# --------------------------------------------------------------------------------------
# What a selector's match says
# --------------------------------------------------------------------------------------

ITEM = Selector(
    text='<li><a class="t" href="/a">Title <b>bold</b></a><time datetime="2025-02-13">13 Feb</time>'
    '<span class="d">14 Feb</span><div class="wrap"><a href="/inner">x</a></div></li>'
)


@pytest.mark.parametrize(
    ("how", "expr", "attribute", "expected"),
    [
        ("css", "a::attr(href)", "href", "/a"),
        ("css", "a.t", "href", "/a"),
        ("css", "div.wrap", "href", "/inner"),
        ("css", "span.d", "href", ""),
        ("css", "a.t", None, "Title bold"),
        ("css", "a.t::text", None, "Title"),
        ("css", "time", "datetime", "2025-02-13"),
        ("css", "span.d", "datetime", "14 Feb"),
        ("xpath", "//a/@href", "href", "/a"),
        ("xpath", "string(//a)", None, "Title bold"),
        ("css", "h9", None, ""),
    ],
    ids=[
        "attribute",
        "element-href",
        "descendant-href",
        "no-href",
        "element-text",
        "text-node",
        "datetime-attribute",
        "date-text",
        "xpath-attribute",
        "xpath-string",
        "no-match",
    ],
)
def test_selector_value(how: str, expr: str, attribute: str | None, expected: str) -> None:
    found = ITEM.css(expr) if how == "css" else ITEM.xpath(expr)
    assert _value(found, attribute) == expected


# --------------------------------------------------------------------------------------
# The recipes in docs/sources.md
# --------------------------------------------------------------------------------------

RECIPES = documented_recipes("page")


def test_docs_have_page_recipes() -> None:
    assert RECIPES


@pytest.mark.parametrize("recipe", RECIPES, ids=[f"recipe-{i}" for i, _ in enumerate(RECIPES)])
def test_documented_page_recipe(site: LocalSite, tmp_path: Path, recipe: str) -> None:
    crawls = crawl_series(site, tmp_path, config_toml(pointed_at(recipe, site.origin)), epochs=[0, 0])
    assert [r.returncode for r in crawls.results] == [0, 0], crawls.results[0].stderr
    [source] = tomllib.loads(recipe)["sources"]
    first, second = crawls.runs(source["name"])
    assert (first["outcome"], first["errors"]) == ("ok", 0)
    pages = min(source.get("max_pages", 5), len(PER_PAGE)) if source.get("next") else 1
    assert first["new_stories"] == sum(PER_PAGE[:pages])
    assert (second["outcome"], second["new_stories"], second["stats"]["not_modified"]) == ("ok", 0, 1)
    if source.get("fetch_articles"):
        assert all(s["complete"] for s in crawls.stories(source["name"]).values())
