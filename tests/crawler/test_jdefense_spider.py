"""The ``jdefense`` spider, end to end: ``defwatch crawl jdefense`` (a real subprocess, real
Scrapy) against the J-Defense imitation served over HTTP on 127.0.0.1, checked against
``imitations/jdefense/data.py`` and the requests the server answered."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import imitations.server as site_server
from core.text import summarize
from imitations.jdefense import JDefenseSite, render
from imitations.jdefense import data as D
from imitations.server import SiteServer
from store import Store
from tests.conftest import REPO, Defwatch

USER_AGENT = "defwatch-test/0.1 (+https://example.org/defwatch/contact)"
SECTIONS = ["mod", "world"]
ROUTE_ORDER = ("home", "section", "ranking", "probe")
VISIBLE_ROUTES = {
    "title": "visible",
    "published": "date-line",
    "body": "visible",
    "categories": "visible",
    "section_label": "visible",
}

# ---- what the data says a crawl should find ------------------------------------------------------


def linked(epoch: int) -> set[str]:
    """Ids linked from the home page, a section page or a ranking list at ``epoch``."""
    return {i for i, routes in D.ROUTES[epoch].items() if routes - {"probe"}}


def reachable(epoch: int) -> set[str]:
    """Ids a crawl at ``epoch`` can find: linked ones, and those the id probe reaches."""
    return {i for i, routes in D.ROUTES[epoch].items() if routes}


def first_found(epochs: list[int]) -> dict[str, int]:
    """id -> the epoch of the first crawl (of a sequence) that could find it."""
    found: dict[str, int] = {}
    for epoch in epochs:
        for i in sorted(reachable(epoch)):
            found.setdefault(i, epoch)
    return found


def discovered_by(article_id: str, epoch: int) -> str:
    return next(r for r in ROUTE_ORDER if r in D.ROUTES[epoch][article_id])


# ---- running crawls ------------------------------------------------------------------------------


@dataclass
class Crawl:
    result: Any  # subprocess.CompletedProcess
    run: dict[str, Any]
    hits: list[site_server.Hit]

    @property
    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def article_paths(self, status: int = 200) -> set[str]:
        return {h.path for h in self.hits if h.path.endswith(".html") and h.status == status}


class Harness:
    """One store and one configuration; crawls ``jdefense`` and reads what it stored."""

    def __init__(
        self, workdir: Path, server: SiteServer, timeout: str = "10s", source_extra: str = ""
    ) -> None:
        self.workdir = workdir
        self.server = server
        self.db = workdir / "defwatch.db"
        self.defwatch = Defwatch(workdir)
        self.defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///{self.db}"

            [crawl]
            allow_private = true
            autothrottle = false
            timeout = "{timeout}"
            user_agent = "{USER_AGENT}"

            [[sources]]
            name = "jdefense"
            kind = "jdefense"
            url = "{server.url("jdefense", "/")}"
            sections = {SECTIONS!r}
            {source_extra}
            """.replace("'", '"')
        )

    def crawl(self, settle: float = 0.0) -> Crawl:
        self.server.clear_hits()
        result = self.defwatch("crawl", "jdefense", timeout=120)
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        time.sleep(settle)  # let answers the crawl gave up on (timeouts) reach the hit log
        with Store.open(f"sqlite:///{self.db}") as store:
            run = store.runs("jdefense")[0]
        return Crawl(result, run, self.server.hits_for("jdefense"))

    def stories(self) -> dict[str, dict[str, Any]]:
        with Store.open(f"sqlite:///{self.db}") as store:
            return {s["url"].rsplit("/", 1)[1][:6]: s for s in store.stories("jdefense")}

    def snapshots(self, window: str) -> list[dict[str, Any]]:
        with Store.open(f"sqlite:///{self.db}") as store:
            return store.ranking_snapshots("jdefense", window)

    def ranking_ids(self, snapshot: dict[str, Any]) -> list[str]:
        return [e["url"].rsplit("/", 1)[1][:6] for e in snapshot["entries"]]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Harness, JDefenseSite]]:
    """A site of its own, at epoch 0, and an empty store."""
    site = JDefenseSite()
    with SiteServer({"jdefense": site}) as server:
        yield Harness(tmp_path, server, timeout="1s"), site


# ---- the main story: epoch 0, epoch 1, nothing new, epoch 4 ----------------------------------------

HISTORY_EPOCHS = [0, 1]


@dataclass
class History:
    harness: Harness
    crawls: dict[str, Crawl]
    stored_after_0: set[str]
    stories: dict[str, dict[str, Any]]  # after the epoch-1 crawls
    snapshots: dict[str, list[dict[str, Any]]]  # window -> after all crawls


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    site = JDefenseSite()
    with SiteServer({"jdefense": site}) as server:
        harness = Harness(tmp_path_factory.mktemp("jdefense"), server)
        crawls = {"epoch0": harness.crawl()}
        stored_after_0 = set(harness.stories())
        site.epoch = 1
        crawls["epoch1"] = harness.crawl()
        crawls["unchanged"] = harness.crawl()
        stories = harness.stories()
        site.epoch = 4
        crawls["epoch4"] = harness.crawl()
        yield History(harness, crawls, stored_after_0, stories, {w: harness.snapshots(w) for w in D.WINDOWS})


def test_every_crawl_ends_ok(history: History) -> None:
    for name in ("epoch0", "epoch1", "unchanged", "epoch4"):
        crawl = history.crawls[name]
        assert crawl.result.returncode == 0, crawl.result.stderr[-2000:]
        if name == "epoch4":  # the half-loaded 1w list fails its checks: see below
            assert crawl.run["outcome"] == "degraded", name
            assert crawl.run["reason"].startswith(
                "the 1w ranking on the home page failed its checks (count: 1 distinct articles (expected 5-20))"
            )
        else:
            assert (crawl.run["outcome"], crawl.run["reason"]) == ("ok", None), name
        # Every request the run counted reached the server (nothing went elsewhere).
        assert crawl.run["requests"] == len(crawl.hits), name


def test_epoch0_stores_every_reachable_article(history: History) -> None:
    assert history.stored_after_0 == reachable(0)
    assert D.RANKING_ONLY_OLD in history.stored_after_0


def test_epoch1_adds_the_new_articles_by_every_route(history: History) -> None:
    assert set(history.stories) == reachable(0) | reachable(1)
    new = set(history.stories) - history.stored_after_0
    assert new == set(D.HOME_ONLY_NEW[1]) | {D.SECTION_ONLY[1], D.PROBE_ONLY[1]}
    assert history.stories[D.SECTION_ONLY[1]]["extra"]["discovered_by"] == "section"
    assert history.stories[D.PROBE_ONLY[1]]["extra"]["discovered_by"] == "probe"
    for i in D.HOME_ONLY_NEW[1]:
        assert history.stories[i]["extra"]["discovered_by"] == "home"


FOUND = first_found(HISTORY_EPOCHS)


@pytest.mark.parametrize("article_id", sorted(FOUND), ids=sorted(FOUND))
def test_story_fields(history: History, article_id: str) -> None:
    article = D.BY_ID[article_id]
    story = history.stories[article_id]
    body = "\n".join(article.body)
    assert story["url"] == history.harness.server.url("jdefense", article.path)
    assert story["title"] == article.title
    assert story["published"] == article.published
    assert story["body"] == body
    assert story["summary"] == summarize(body)
    assert story["section"] == article.section
    assert (story["kind"], story["complete"]) == ("article", True)
    extra = story["extra"]
    assert extra["section_label"] == article.section_label
    assert extra["categories"] == [article.section_label]
    # Both markup variants are read from what is visible, not from metadata.
    assert extra["routes"] == VISIBLE_ROUTES
    assert extra["discovered_by"] == discovered_by(article_id, FOUND[article_id])
    for era in extra["era_dates"]:
        assert era["text"] in body


def test_both_markup_variants_are_covered(history: History) -> None:
    assert {D.BY_ID[i].variant for i in history.stories} == {"a", "b"}


def test_titles_keep_asean_as_written(history: History) -> None:
    for i in D.ASEAN_FULLWIDTH_IDS:
        assert "ＡＳＥＡＮ" in history.stories[i]["title"]
        assert "ASEAN" not in history.stories[i]["title"]
    for i in D.ASEAN_HALFWIDTH_IDS:
        if i in history.stories:
            assert "ASEAN" in history.stories[i]["title"]
    for i in D.IDEOGRAPHIC_SPACE_TITLE_IDS:
        if i in history.stories:
            assert "\u3000" in history.stories[i]["title"]


@pytest.mark.parametrize(
    ("article_id", "expected"),
    [
        (
            "004432",
            [
                {
                    "text": "令和7年10月17日(金)11時~11時38分",
                    "date": "2025-10-17",
                    "start": "2025-10-17T11:00:00+09:00",
                    "end": "2025-10-17T11:38:00+09:00",
                }
            ],
        ),
        (
            "004435",
            [{"text": "令和7(2025)年10月28日(火)", "date": "2025-10-28", "start": None, "end": None}],
        ),
        (
            "004426",
            [{"text": "令和7年(2025)11月21日", "date": "2025-11-21", "start": None, "end": None}],
        ),
        (
            "004441",
            [
                {
                    "text": "令和7年10月21日(火)22時10分~22時52分",
                    "date": "2025-10-21",
                    "start": "2025-10-21T22:10:00+09:00",
                    "end": "2025-10-21T22:52:00+09:00",
                }
            ],
        ),
        ("004434", []),
    ],
    ids=["time-range", "western-year-after-era-year", "western-year-after-nen", "evening-range", "none"],
)
def test_era_dates_in_body(history: History, article_id: str, expected: list[dict[str, Any]]) -> None:
    assert history.stories[article_id]["extra"]["era_dates"] == expected


@pytest.mark.parametrize("window", D.WINDOWS)
def test_one_ranking_snapshot_per_window_per_crawl(history: History, window: str) -> None:
    snapshots = history.snapshots[window]
    epochs = (0, 1, 1) if window == "1w" else (0, 1, 1, 4)  # 1w at epoch 4 fails its checks
    assert [history.harness.ranking_ids(s) for s in snapshots] == [
        D.RANKINGS[epoch][window] for epoch in epochs
    ]
    for snapshot in snapshots:
        assert [e["rank"] for e in snapshot["entries"]] == list(range(1, len(snapshot["entries"]) + 1))
        assert [e["title"] for e in snapshot["entries"]] == [
            D.BY_ID[i].title for i in history.harness.ranking_ids(snapshot)
        ]
        assert all(
            e["url"].startswith(history.harness.server.url("jdefense", "/docs/")) for e in snapshot["entries"]
        )


def test_half_loaded_ranking_is_refused_said_and_kept(history: History) -> None:
    run = history.crawls["epoch4"].run
    # Not stored: the last 1w snapshot is still epoch 1's; the other windows were stored.
    assert history.harness.ranking_ids(history.snapshots["1w"][-1]) == D.RANKINGS[1]["1w"]
    assert history.harness.ranking_ids(history.snapshots["24h"][-1]) == D.RANKINGS[4]["24h"]
    assert run["stats"]["ranking_check_failed_1w"] == 1
    assert "ranking_check_failed_24h" not in run["stats"] and "ranking_check_failed_1m" not in run["stats"]
    assert "ranking_check_failed_1w" not in history.crawls["epoch1"].run["stats"]
    kept = history.harness.workdir / "pages" / "jdefense" / "ranking-1w" / "1.html"
    assert f"page kept as {kept}" in run["reason"]
    assert "Ranking" in kept.read_text(encoding="utf-8")


def test_second_crawl_requests_no_known_article(history: History) -> None:
    crawl = history.crawls["epoch1"]
    known_paths = {D.BY_ID[i].path for i in history.stored_after_0}
    assert not (crawl.article_paths() & known_paths)
    assert crawl.article_paths() == {D.BY_ID[i].path for i in set(history.stories) - history.stored_after_0}
    run = crawl.run
    assert run["new_stories"] == len(set(history.stories) - history.stored_after_0) == 4
    assert run["known_skipped"] == len(linked(1) & history.stored_after_0)
    assert run["errors"] == 0


def probe_paths(ids: range) -> set[str]:
    return {f"/docs/{s}/{n:06d}.html" for n in ids for s in SECTIONS}


def test_request_counts(history: History) -> None:
    listings = ["/robots.txt", "/", "/docs/mod/", "/docs/world/"]
    cached = listings[1:]  # robots.txt read by the first crawl is kept for a day
    # epoch 0: listings, every reachable article, and 5 probe ids (4437-4441) in both sections
    epoch0 = history.crawls["epoch0"]
    assert sorted(epoch0.paths) == sorted(
        listings + [D.BY_ID[i].path for i in reachable(0)] + sorted(probe_paths(range(4437, 4442)))
    )
    assert epoch0.run["requests"] == 4 + 23 + 10
    # epoch 1: the probe starts after 004439 (world section), steps over the 404 at 004440,
    # finds 004441 and stops after 5 misses in a row (004442-004446).
    epoch1 = history.crawls["epoch1"]
    new_linked = {D.BY_ID[i].path for i in (*D.HOME_ONLY_NEW[1], D.SECTION_ONLY[1])}
    assert sorted(epoch1.paths) == sorted(
        cached + sorted(new_linked) + sorted(probe_paths(range(4440, 4447)))
    )
    assert epoch1.run["requests"] == 3 + 3 + 14
    assert epoch1.run["stats"]["probe_gap"] == 1  # 004440, a 404 below a hit
    assert epoch1.run["stats"]["probe_miss"] == 6
    # nothing new: the home page, the section pages and the probe only
    unchanged = history.crawls["unchanged"]
    assert sorted(unchanged.paths) == sorted(cached + sorted(probe_paths(range(4442, 4447))))
    assert unchanged.run["requests"] == 3 + 10
    assert (unchanged.run["new_stories"], unchanged.run["errors"]) == (0, 0)
    assert unchanged.run["known_skipped"] == len(linked(1))


def test_politeness(history: History) -> None:
    first, *later = history.crawls.values()
    assert first.paths[0] == "/robots.txt"
    for crawl in later:  # robots.txt kept from the first crawl (at most a day)
        assert "/robots.txt" not in crawl.paths
    for crawl in history.crawls.values():
        assert {h.headers.get("User-Agent") for h in crawl.hits} == {USER_AGENT}


# ---- bad input ---------------------------------------------------------------------------------------

FAULTS = {
    "004433": "truncated",  # variant a
    "004432": "no-date",  # variant b: no date line, no <time>, no JSON-LD datePublished
    "004424": "500",
    "004436": "timeout",
    "004435": "redirect-offsite",
    "004430": "shift_jis",  # variant b
}


def test_bad_input_does_not_stop_the_crawl(fresh: tuple[Harness, JDefenseSite]) -> None:
    harness, site = fresh
    site.faults.update(FAULTS)
    site.timeout_delay = 1.5  # the crawl's download timeout is 1 s
    crawl = harness.crawl(settle=site.timeout_delay)
    assert crawl.result.returncode == 0, crawl.result.stderr[-2000:]
    run = crawl.run
    assert run["outcome"] == "degraded"
    assert "no date by any route" in run["reason"] and "004432" in run["reason"]
    stats = run["stats"]
    for reason in ("truncated", "no_date", "http_500", "timeout", "redirect_offsite"):
        assert stats[reason] == 1, reason
    assert stats["encoding_cp932"] == 1  # Shift_JIS, read through its meta charset
    assert stats["probe_miss"] == 5  # 004437-004441 answer 404 at epoch 0
    assert run["errors"] == 5
    assert crawl.run["requests"] == len(crawl.hits)  # no request left for example.invalid
    skipped = {"004433", "004432", "004424", "004436", "004435"}
    stories = harness.stories()
    assert set(stories) == reachable(0) - skipped
    shift_jis = D.BY_ID["004430"]
    assert stories["004430"]["title"] == shift_jis.title
    assert stories["004430"]["body"] == "\n".join(shift_jis.body)
    assert stories["004430"]["published"] == shift_jis.published
    assert all(harness.ranking_ids(harness.snapshots(w)[-1]) == D.RANKINGS[0][w] for w in D.WINDOWS)

    # Skipped articles were not stored, so the next run asks for them again, and only them.
    site.faults.clear()
    again = harness.crawl()
    assert (again.run["outcome"], again.run["errors"]) == ("ok", 0)
    assert again.article_paths() == {D.BY_ID[i].path for i in skipped}
    assert set(harness.stories()) == reachable(0)
    assert harness.stories()["004433"]["body"] == "\n".join(D.BY_ID["004433"].body)


# ---- health ---------------------------------------------------------------------------------------------


class HomeWithoutLinks(JDefenseSite):
    """The home page's list came out empty (e.g. it became a script-rendered list)."""

    def _home(self, epoch: int) -> str:
        return render.home_page([], self._ranking(epoch) if self.home_ranking else None)


class RelabelledRanking(JDefenseSite):
    """The ranking tabs were renamed to words the spider does not know."""

    def respond(self, path: str, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        status, headers, body = super().respond(path, environ)
        for label, new in (("24時間", "今日"), ("1週間", "今週"), ("1ヶ月", "今月")):
            body = body.replace(label.encode(), new.encode())
        return status, headers, body


def test_home_page_without_article_links_is_counted_while_other_routes_work(tmp_path: Path) -> None:
    # The real home list may be built by script (docs/sites.md): an empty list is counted,
    # and the run is degraded only when no route finds any article.
    with SiteServer({"jdefense": HomeWithoutLinks()}) as server:
        harness = Harness(tmp_path, server)
        crawl = harness.crawl()
    assert (crawl.run["outcome"], crawl.run["reason"]) == ("ok", None)
    assert crawl.run["stats"]["home_list_empty"] == 1
    # The other routes still work: section pages and the ranking lists.
    section_or_ranked = {i for i, r in D.ROUTES[0].items() if r & {"section", "ranking"}}
    assert set(harness.stories()) == section_or_ranked
    assert harness.ranking_ids(harness.snapshots("24h")[-1]) == D.RANKINGS[0]["24h"]


def test_unreadable_ranking_degrades_the_run(tmp_path: Path) -> None:
    with SiteServer({"jdefense": RelabelledRanking()}) as server:
        harness = Harness(tmp_path, server)
        crawl = harness.crawl()
    assert crawl.run["outcome"] == "degraded"
    assert "ranking block" in crawl.run["reason"] and "cannot be read" in crawl.run["reason"]
    assert all(harness.snapshots(w) == [] for w in D.WINDOWS)
    assert crawl.run["new_stories"] > 0  # the articles are still read


def test_ranking_from_an_article_page_when_the_home_page_has_none(
    fresh: tuple[Harness, JDefenseSite],
) -> None:
    harness, site = fresh
    site.home_ranking = False
    first = harness.crawl()
    assert (first.run["outcome"], first.run["stats"]["ranking_from_article"]) == ("ok", 1)
    # Ranked articles linked nowhere else are still crawled in the same run.
    assert set(harness.stories()) == reachable(0)
    assert harness.stories()[D.RANKING_ONLY_OLD]["extra"]["discovered_by"] == "ranking"
    for window in D.WINDOWS:
        assert harness.ranking_ids(harness.snapshots(window)[-1]) == D.RANKINGS[0][window]

    # With nothing new, one known article page is read for its ranking block: the one
    # exception to "no known article is requested", and only without a home ranking.
    site.epoch = 0
    second = harness.crawl()
    assert second.run["outcome"] == "ok"
    ranking_reads = second.article_paths() - probe_paths(range(4437, 4442))
    assert len(ranking_reads) == 1
    assert second.run["requests"] == 3 + 10 + 1  # robots.txt kept from the first crawl
    for window in D.WINDOWS:
        assert len(harness.snapshots(window)) == 2


def test_the_sources_response_size_limit_holds_for_its_pages(tmp_path: Path) -> None:
    with SiteServer({"jdefense": JDefenseSite()}) as server:
        harness = Harness(tmp_path, server, source_extra='max_response_size = "1KB"')
        crawl = harness.crawl()
    assert crawl.run["outcome"] == "failed"
    assert crawl.run["reason"].startswith("too_large at ")
    assert crawl.run["stats"]["too_large"] >= 1
    assert harness.stories() == {}


def test_scrapy_crawl_reads_the_configuration_it_is_given(tmp_path: Path) -> None:
    """`scrapy crawl jdefense -a config=PATH` from the project folder: the spider reads that
    defwatch.toml and stores in-process (no page worker), as `defwatch crawl` would."""
    with SiteServer({"jdefense": JDefenseSite()}) as server:
        harness = Harness(tmp_path, server)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "jdefense",
                "-a",
                f"config={tmp_path / 'defwatch.toml'}",
            ],
            cwd=REPO,
            env={**harness.defwatch.env, "PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    with Store.open(f"sqlite:///{harness.db}") as store:
        run = store.runs("jdefense")[0]
    assert run["outcome"] == "ok", run["reason"]
    assert run["new_stories"] == len(harness.stories()) > 0
