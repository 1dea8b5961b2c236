"""Kind ``feed`` against a local site: a WordPress RSS 2.0 feed, a gov.uk-style Atom feed and
an RSS 1.0 (RDF) feed, each crawled twice (and once more after the WordPress feed gained an
item), then every way a feed goes wrong, and the recipes in docs/sources.md.

Each crawl is the real ``defwatch crawl`` in a subprocess (Scrapy's reactor cannot restart).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.extract import ParsedDate, extract_article, html_to_text, parse_datetime
from imitations.feed.articles import ARTICLES, BOILERPLATE_MARKERS, render
from tests.crawler.feedsite import (
    HUGE_SIZE,
    Crawls,
    LocalSite,
    config_toml,
    crawl_series,
    documented_recipes,
    pointed_at,
    serve,
    source_toml,
)

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    with serve() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_site(site: LocalSite) -> None:
    site.reset()


# --------------------------------------------------------------------------------------
# Three well-formed feeds, crawled three times: as found, unchanged, with one new item
# --------------------------------------------------------------------------------------

FEEDS = {
    "wordpress": "/feed/",
    "govuk": "/government/organisations/ministry-of-defence.atom",
    "rdf": "/rss/news.rdf",
}


@pytest.fixture(scope="module")
def feeds(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    config = config_toml(
        source_toml(name="wordpress", kind="feed", url=site.url(FEEDS["wordpress"]), fetch_articles=True),
        source_toml(name="govuk", kind="feed", url=site.url(FEEDS["govuk"]), timezone="Europe/London"),
        source_toml(name="rdf", kind="feed", url=site.url(FEEDS["rdf"])),
    )
    return crawl_series(site, tmp_path_factory.mktemp("feeds"), config, epochs=[0, 0, 1])


def test_every_crawl_succeeds(feeds: Crawls) -> None:
    assert [r.returncode for r in feeds.results] == [0, 0, 0], feeds.results[0].stderr


@pytest.mark.parametrize("source", FEEDS)
def test_first_run_stores_every_item(feeds: Crawls, source: str) -> None:
    first = feeds.runs(source)[0]
    assert (first["outcome"], first["new_stories"], first["errors"]) == ("ok", 3, 0)


@pytest.mark.parametrize("source", FEEDS)
def test_second_run_finds_nothing_new(feeds: Crawls, source: str) -> None:
    second = feeds.runs(source)[1]
    assert (second["outcome"], second["new_stories"], second["errors"]) == ("ok", 0, 0)


@pytest.mark.parametrize(
    ("source", "validator"),
    [("wordpress", "If-None-Match"), ("govuk", "If-Modified-Since")],
    ids=["etag", "last-modified"],
)
def test_second_run_is_answered_304(feeds: Crawls, source: str, validator: str) -> None:
    [hit] = [h for h in feeds.hits[1] if h.path == FEEDS[source]]
    assert hit.status == 304
    assert validator in hit.headers
    assert feeds.runs(source)[1]["stats"]["not_modified"] == 1


def test_feed_without_validators_is_read_again_and_its_items_skipped(feeds: Crawls) -> None:
    [hit] = [h for h in feeds.hits[1] if h.path == FEEDS["rdf"]]
    assert hit.status == 200
    assert feeds.runs("rdf")[1]["known_skipped"] == 3


def test_a_new_item_alone_is_stored_and_its_article_alone_fetched(feeds: Crawls) -> None:
    third = feeds.runs("wordpress")[2]
    assert (third["outcome"], third["new_stories"], third["known_skipped"]) == ("ok", 1, 3)
    articles = [h.path for h in feeds.hits[2] if h.path.startswith("/2025/")]
    assert articles == ["/2025/02/asean-navies-open-multilateral-exercise/"]


def test_second_run_fetches_no_article(feeds: Crawls) -> None:
    assert not [h for h in feeds.hits[1] if h.path.startswith("/2025/")]


def test_wordpress_item(feeds: Crawls) -> None:
    story = feeds.stories("wordpress")["2025/02/jmsdf-commissions-third-mogami-class-frigate/"]
    assert story["title"] == "JMSDF Commissions Third Mogami-class Frigate “Noshiro”"
    assert story["published"] == datetime(2025, 2, 13, 9, 5, tzinfo=UTC)
    assert story["extra"]["categories"] == ["Naval News", "Asia Pacific", "JMSDF", "Mogami-class"]
    assert story["extra"]["author"] == "Naval News Staff"
    assert story["extra"]["guid"].endswith("/?p=233101")
    assert "published_tz_assumed" not in story["extra"]
    assert story["summary"].startswith("The Japan Maritime Self-Defense Force commissioned")
    assert "appeared first on" not in story["summary"]


def test_wordpress_article_text_is_the_main_text_only(feeds: Crawls) -> None:
    story = feeds.stories("wordpress")["2025/02/jmsdf-commissions-third-mogami-class-frigate/"]
    assert (story["kind"], story["complete"]) == ("article", True)
    assert story["body"].startswith("The Japan Maritime Self-Defense Force commissioned")
    assert "Twelve ships of the class are planned" in story["body"]
    for boilerplate in ("Accept all cookies", "Related stories", "Subscribe to our newsletter"):
        assert boilerplate not in story["body"]


def test_tracking_parameters_are_dropped_from_links(feeds: Crawls) -> None:
    paths = set(feeds.stories("wordpress"))
    assert "2025/02/philippine-navy-receives-second-offshore-patrol-vessel/" in paths


def test_govuk_entry(feeds: Crawls) -> None:
    story = feeds.stories("govuk")["government/news/uk-and-japan-deepen-defence-industrial-cooperation"]
    assert story["title"] == "UK and Japan deepen defence industrial cooperation"
    assert story["published"] == datetime(2025, 2, 13, 17, 30, 2, tzinfo=UTC)
    assert story["summary"].startswith("Press release: The Defence Secretary and Japan's Minister")
    assert (story["kind"], story["complete"]) == ("item", False)
    assert story["extra"]["guid"].startswith("https://www.gov.uk/government/news/uk-and-japan")


@pytest.mark.parametrize(
    ("path", "published", "assumed"),
    [
        ("j/press/news/2025/02/13a.html", datetime(2025, 2, 13, 17, 0, tzinfo=JST), False),
        ("j/press/news/2025/02/13b.html", datetime(2025, 2, 13, 9, 30, tzinfo=JST), True),
        ("j/press/news/2025/02/12a.html", datetime(2025, 2, 12, 0, 0, tzinfo=JST), True),
    ],
    ids=["with-offset", "time-without-zone", "date-only"],
)
def test_rdf_dates(feeds: Crawls, path: str, published: datetime, assumed: bool) -> None:
    story = feeds.stories("rdf")[path]
    assert story["published"] == published
    assert story["extra"].get("published_tz_assumed", False) is assumed


def test_rdf_item(feeds: Crawls) -> None:
    story = feeds.stories("rdf")["j/press/news/2025/02/13a.html"]
    assert story["title"] == "日米防衛相会談の概要について"
    assert story["extra"]["categories"] == ["報道発表"]
    assert "ＡＳＥＡＮ諸国との協力" in story["summary"]


# --------------------------------------------------------------------------------------
# Bad input, all in one crawl: none of it stops the other sources
# --------------------------------------------------------------------------------------

BAD = {
    "html-page": "/bad/homepage-as-feed",
    "gone": "/bad/gone.xml",
    "redirect-loop": "/bad/loop-a",
    "huge": "/bad/huge.xml",
    "huge-declared": "/bad/huge-declared.xml",
    "huge-1mb": "/bad/huge.xml?limit=1MB",
    "unreachable": "/bad/no-such-feed.xml",
    "bad-dates": "/bad/dates.xml",
    "no-links": "/bad/no-link.xml",
    "only-unlinked": "/bad/only-unlinked.xml",
    "empty": "/bad/empty.xml",
    "missing-article": "/bad/articles.xml",
}


@pytest.fixture(scope="module")
def bad(site: LocalSite, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    options: dict[str, dict[str, Any]] = {
        "missing-article": {"fetch_articles": True},
        "huge-1mb": {"max_response_size": "1MB"},
    }
    sources = [
        source_toml(name=name, kind="feed", url=site.url(path), **options.get(name, {}))
        for name, path in BAD.items()
    ]
    sources.append(source_toml(name="good", kind="feed", url=site.url(FEEDS["rdf"])))
    return crawl_series(site, tmp_path_factory.mktemp("bad"), config_toml(*sources), epochs=[0])


def test_bad_sources_do_not_stop_the_others(bad: Crawls) -> None:
    [result] = bad.results
    assert result.returncode == 1  # some sources failed
    assert bad.runs("good")[0]["outcome"] == "ok"
    assert len(bad.stories("good")) == 3
    for name in BAD:
        assert name in result.stdout


# source -> (outcome, words in the run's reason, a reason counted in the run's stats)
BAD_OUTCOMES = {
    "html-page": ("failed", "not an RSS or Atom feed (text/html", "not_a_feed"),
    "gone": ("failed", "gone (HTTP 410)", "http_410"),
    "redirect-loop": ("failed", "more than 5 redirects (a redirect loop?)", "redirect_loop"),
    "huge": ("failed", "response larger than the 10 MB limit", "too_large"),
    "huge-declared": ("failed", "response larger than the 10 MB limit", "too_large"),
    "huge-1mb": ("failed", "response larger than the 1 MB limit", "too_large"),
    "unreachable": ("failed", "HTTP 404", "http_404"),
    "only-unlinked": ("degraded", "none of the feed's 2 items could be used", "no_link"),
    "bad-dates": ("ok", None, "invalid_date"),
    "no-links": ("ok", None, "no_link"),
    "empty": ("ok", None, "feed_empty"),
    "missing-article": ("ok", None, "http_404"),
}


@pytest.mark.parametrize(
    ("source", "outcome", "reason", "counted"),
    [(name, *expected) for name, expected in BAD_OUTCOMES.items()],
    ids=list(BAD_OUTCOMES),
)
def test_bad_input_outcome(
    site: LocalSite, bad: Crawls, source: str, outcome: str, reason: str | None, counted: str
) -> None:
    [run] = bad.runs(source)
    why: str = run["reason"] or ""
    assert run["outcome"] == outcome
    assert (why == "") if reason is None else (reason in why)
    if outcome == "failed":
        assert why.endswith(f" at {site.url(BAD[source])}")  # the URL configured, after redirects too
    assert run["stats"][counted] >= 1


def test_redirect_loop_gives_up_after_five_redirects(bad: Crawls) -> None:
    loop = [h for h in bad.hits[0] if h.path.startswith("/bad/loop-")]
    assert len(loop) == 6


@pytest.mark.parametrize("source", ["huge", "huge-declared", "huge-1mb"])
def test_huge_response_is_stopped_at_the_limit(bad: Crawls, source: str) -> None:
    sent = bad.streamed[BAD[source]]
    assert sent < HUGE_SIZE // 2


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("dates/not-a-date", "not a date"),
        ("dates/february-31", "Mon, 31 Feb 2025 10:00:00 +0000"),
        ("dates/month-13", "2025-13-45T10:00:00Z"),
    ],
    ids=["words", "february-31", "month-13"],
)
def test_invalid_date_leaves_the_story_undated(bad: Crawls, path: str, raw: str) -> None:
    story = bad.stories("bad-dates")[path]
    assert story["published"] is None
    assert story["extra"]["published_raw"] == raw


def test_dates_with_a_zone_name(bad: Crawls) -> None:
    stories = bad.stories("bad-dates")
    jst = stories["dates/jst-name"]
    # JST is in the table of zone names (crawler.feed_dates.ZONES): not assumed.
    assert jst["published"] == datetime(2025, 2, 13, 9, 5, tzinfo=JST)
    assert "published_tz_assumed" not in jst["extra"]
    good = stories["dates/good"]
    assert good["published"] == datetime(2025, 2, 13, 9, 5, tzinfo=timezone(timedelta(hours=9)))
    assert "published_tz_assumed" not in good["extra"]
    assert stories["dates/empty"]["published"] is None
    run = bad.runs("bad-dates")[0]
    assert (run["new_stories"], run["stats"]["invalid_date"], run["stats"]["no_date"]) == (6, 3, 1)


def test_items_without_link_are_skipped_unless_the_guid_is_a_url(bad: Crawls) -> None:
    assert set(bad.stories("no-links")) == {"no-link/permalink-guid", "no-link/relative"}
    assert bad.runs("no-links")[0]["stats"]["no_link"] == 2


def test_a_failed_article_keeps_the_story_as_the_feed_gave_it(bad: Crawls) -> None:
    stories = bad.stories("missing-article")
    fetched = stories["2025/02/jmsdf-commissions-third-mogami-class-frigate/"]
    assert (fetched["kind"], fetched["complete"]) == ("article", True)
    kept = stories["2025/02/a-story-whose-page-is-gone/"]
    assert (kept["kind"], kept["complete"], kept["summary"]) == (
        "item",
        False,
        "Only the feed knows this one.",
    )
    assert bad.runs("missing-article")[0]["errors"] == 1


# --------------------------------------------------------------------------------------
# A feed that had items and then lists none
# --------------------------------------------------------------------------------------


def test_feed_that_stops_listing_items_is_degraded(site: LocalSite, tmp_path: Path) -> None:
    config = config_toml(source_toml(name="changing", kind="feed", url=site.url("/changing/feed.xml")))
    crawls = crawl_series(site, tmp_path, config, epochs=[0, 1, 1])
    before, after, again = crawls.runs("changing")
    assert (before["outcome"], before["new_stories"]) == ("ok", 3)
    assert after["outcome"] == "degraded"
    assert "the feed lists no items, though it had some before" in after["reason"]
    assert crawls.results[1].returncode == 0  # degraded is not a failure of the crawl
    # The empty answer's validators were not kept: no 304 hides the problem next time.
    assert (again["outcome"], "not_modified" in again["stats"]) == ("degraded", False)


def test_a_feed_that_moved_is_still_asked_conditionally(site: LocalSite, tmp_path: Path) -> None:
    config = config_toml(source_toml(name="moved", kind="feed", url=site.url("/moved/mod.atom")))
    crawls = crawl_series(site, tmp_path, config, epochs=[0, 0])
    first, second = crawls.runs("moved")
    assert (first["new_stories"], second["outcome"], second["stats"]["not_modified"]) == (3, "ok", 1)
    [hit] = [h for h in crawls.hits[1] if h.path == FEEDS["govuk"]]
    assert (hit.status, "If-Modified-Since" in hit.headers) == (304, True)


# --------------------------------------------------------------------------------------
# The recipes in docs/sources.md
# --------------------------------------------------------------------------------------


RECIPES = documented_recipes("feed")


def test_docs_have_a_feed_recipe() -> None:
    assert RECIPES


@pytest.mark.parametrize("recipe", RECIPES, ids=[f"recipe-{i}" for i, _ in enumerate(RECIPES)])
def test_documented_feed_recipe(site: LocalSite, tmp_path: Path, recipe: str) -> None:
    crawls = crawl_series(site, tmp_path, config_toml(pointed_at(recipe, site.origin)), epochs=[0, 0])
    assert [r.returncode for r in crawls.results] == [0, 0], crawls.results[0].stderr
    for source in tomllib.loads(recipe)["sources"]:
        first, second = crawls.runs(source["name"])
        assert (first["outcome"], first["new_stories"]) == ("ok", 3)
        assert (second["outcome"], second["new_stories"], second["stats"]["not_modified"]) == ("ok", 0, 1)
        if source.get("fetch_articles"):
            assert all(s["complete"] for s in crawls.stories(source["name"]).values())


# --------------------------------------------------------------------------------------
# Reading dates and text (crawler.extract), as the feed spider uses them
# --------------------------------------------------------------------------------------

UTC9 = timezone(timedelta(hours=9))
EST = timezone(timedelta(hours=-5))

DATES = [
    pytest.param(
        "Thu, 13 Feb 2025 09:05:00 +0000", datetime(2025, 2, 13, 9, 5, tzinfo=UTC), False, id="rfc822"
    ),
    pytest.param(
        "Thu, 13 Feb 2025 09:05:00 GMT", datetime(2025, 2, 13, 9, 5, tzinfo=UTC), False, id="rfc822-gmt"
    ),
    pytest.param(
        "Thu, 13 Feb 25 04:05:00 EST", datetime(2025, 2, 13, 4, 5, tzinfo=EST), False, id="rfc822-est"
    ),
    pytest.param(
        "Thu, 13 Feb 2025 09:05:00 -0000",
        datetime(2025, 2, 13, 9, 5, tzinfo=JST),
        True,
        id="rfc822-unknown-zone",
    ),
    pytest.param(
        "Thu, 13 Feb 2025 09:05:00 JST", datetime(2025, 2, 13, 9, 5, tzinfo=JST), True, id="rfc822-zone-name"
    ),
    pytest.param(
        "Thu, 13 Feb 2025 09:05:00", datetime(2025, 2, 13, 9, 5, tzinfo=JST), True, id="rfc822-no-zone"
    ),
    pytest.param("2025-02-13T09:05:00Z", datetime(2025, 2, 13, 9, 5, tzinfo=UTC), False, id="iso-z"),
    pytest.param(
        "2025-02-13T09:05+09:00", datetime(2025, 2, 13, 9, 5, tzinfo=UTC9), False, id="w3cdtf-minutes"
    ),
    pytest.param(
        "2025-02-13T09:05:00.123+09:00",
        datetime(2025, 2, 13, 9, 5, 0, 123000, tzinfo=UTC9),
        False,
        id="iso-fraction",
    ),
    pytest.param("2025-02-13", datetime(2025, 2, 13, tzinfo=JST), True, id="date-only"),
    pytest.param("2025/2/13 9:05", datetime(2025, 2, 13, 9, 5, tzinfo=JST), True, id="slashes"),
    pytest.param("2025年2月13日", datetime(2025, 2, 13, tzinfo=JST), True, id="kanji"),
    pytest.param("13 February 2025", datetime(2025, 2, 13, tzinfo=JST), True, id="english-day-first"),
    pytest.param("Feb 13, 2025", datetime(2025, 2, 13, tzinfo=JST), True, id="english-month-first"),
]


@pytest.mark.parametrize(("text", "expected", "assumed"), DATES)
def test_parse_datetime(text: str, expected: datetime, assumed: bool) -> None:
    parsed = parse_datetime(text, JST)
    assert parsed is not None
    assert (parsed.value, parsed.value.utcoffset(), parsed.tz_assumed) == (
        expected,
        expected.utcoffset(),
        assumed,
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not a date",
        "Mon, 31 Feb 2025 10:00:00 +0000",
        "2025-13-45T10:00:00Z",
        "0000-00-00",
        "yesterday",
    ],
    ids=["empty", "blank", "words", "february-31", "month-13", "zeros", "relative"],
)
def test_parse_datetime_rejects(text: str) -> None:
    assert parse_datetime(text, JST) is None


def test_parse_datetime_with_a_format() -> None:
    parsed = parse_datetime("13.02.2025 09:05", JST, "%d.%m.%Y %H:%M")
    assert parsed == ParsedDate(datetime(2025, 2, 13, 9, 5, tzinfo=JST), True)
    assert parse_datetime("2025-02-13", JST, "%d.%m.%Y %H:%M") is None  # only the format given


@given(st.text(max_size=40))
def test_parse_datetime_never_raises_and_is_always_aware(text: str) -> None:
    parsed = parse_datetime(text, JST)
    assert parsed is None or parsed.value.utcoffset() is not None


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_parse_datetime_reads_back_what_feeds_write(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    for written in (format_datetime(moment), moment.isoformat()):
        parsed = parse_datetime(written, JST)
        assert parsed == ParsedDate(moment, False), written


@pytest.mark.parametrize(
    ("fragment", "paragraphs", "expected"),
    [
        ("<p>One.</p><p>Two &amp; three.</p>", False, "One. Two & three."),
        ("<p>One.</p><p>Two &amp; three.</p>", True, "One.\nTwo & three."),
        ("a<br>b<br/>c", True, "a\nb\nc"),
        ("<script>var x = 1;</script><b>bold</b>  text", False, "bold text"),
        ("Japan&#8217;s &#8220;Noshiro&#8221;", False, "Japan’s “Noshiro”"),
        ("plain\n\n text", True, "plain\ntext"),
    ],
    ids=["blocks", "blocks-as-lines", "breaks", "script", "entities", "plain"],
)
def test_html_to_text(fragment: str, paragraphs: bool, expected: str) -> None:
    assert html_to_text(fragment, paragraphs) == expected


def test_extract_article_keeps_the_main_text_only() -> None:
    page = render(ARTICLES["/2025/02/royal-navy-tests-drone-swarm-from-type-23-frigate/"])
    article = extract_article(page, "http://127.0.0.1/2025/02/royal-navy/")
    assert article is not None
    assert article.title == "Royal Navy Tests Drone Swarm From Type 23 Frigate"
    assert article.text.splitlines()[0].startswith("A Type 23 frigate launched and recovered")
    assert article.published == date(2025, 2, 12)
    assert not any(marker in article.text for marker in BOILERPLATE_MARKERS)


def test_extract_article_without_metadata_reads_the_same_text() -> None:
    page = render(ARTICLES["/2025/02/royal-navy-tests-drone-swarm-from-type-23-frigate/"])
    full = extract_article(page, "http://127.0.0.1/2025/02/royal-navy/")
    title = "Royal Navy Tests Drone Swarm From Type 23 Frigate"
    text_only = extract_article(page, "http://127.0.0.1/2025/02/royal-navy/", metadata=False, title=title)
    assert full is not None and text_only is not None
    assert text_only.text == full.text  # the headline line dropped by the listing's title
    assert (text_only.title, text_only.published, text_only.author) == ("", None, None)


@pytest.mark.parametrize(
    "page", ["", "<html><body></body></html>", b"\xff\xfe\x00garbage"], ids=["empty", "blank", "bytes"]
)
def test_extract_article_without_text(page: str | bytes) -> None:
    assert extract_article(page) is None
