"""``defwatch crawl jdefense`` against every family of the markup zoo (imitations/jdefense/zoo.py):
the same content in markups we did not fit the readers to. Each crawl must store exactly the
zoo's stories, with their titles, dates and whole bodies, and the three ranking windows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from imitations.jdefense import zoo
from imitations.server import SiteServer
from store import Store
from tests.conftest import REPO, Defwatch


@dataclass
class ZooCrawl:
    server: SiteServer
    store: Store
    runs: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def zoo_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooCrawl]:
    """One ``defwatch crawl`` of every family at once (one source each): one process start
    for the whole zoo keeps the suite fast."""
    workdir = tmp_path_factory.mktemp("zoo")
    sites = {f.name: zoo.ZooSite(f) for f in zoo.FAMILIES}
    with SiteServer(sites) as server:
        db = workdir / "defwatch.db"
        sources = "".join(
            f"""
            [[sources]]
            name = "{f.name}"
            kind = "jdefense"
            url = "{server.url(f.name, "/")}"
            probe_misses = 2
            """
            for f in zoo.FAMILIES
        )
        dw = Defwatch(workdir)
        dw.write_config(
            f"""
            [store]
            url = "sqlite:///{db}"

            [crawl]
            allow_private = true
            autothrottle = false
            timeout = "10s"
            """
            + sources
        )
        result = dw("crawl", *[f.name for f in zoo.FAMILIES], timeout=600)
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        store = Store.open(f"sqlite:///{db}")
        try:
            yield ZooCrawl(server, store, {f.name: store.runs(f.name)[0] for f in zoo.FAMILIES})
        finally:
            store.close()


@pytest.mark.parametrize("family", zoo.FAMILIES, ids=[f.name for f in zoo.FAMILIES])
def test_every_family_is_read_right(zoo_crawl: ZooCrawl, family: zoo.Family) -> None:
    run, store = zoo_crawl.runs[family.name], zoo_crawl.store
    assert run["outcome"] == "ok", run["reason"]
    stories = {s["url"].rsplit("/", 1)[1][:6]: s for s in store.stories(family.name)}
    assert sorted(stories) == sorted(zoo.ZOO_IDS)  # incl. the one only its section page links
    for article_id, story in stories.items():
        a = zoo.article(article_id)
        assert story["title"] == a.title
        assert story["published"] == zoo.expected_published(a, family.date_form)
        body = story["body"].split("\n")
        assert (body[0], body[-1]) == (a.body[0], a.body[-1])
        assert body == a.body  # whole: no share text, no caption, nothing cut at a quote
        assert story["extra"]["categories"] == [a.section_label]  # before or after the title
    for window, ids in zoo.ZOO_RANKING.items():
        snapshots = store.ranking_snapshots(family.name, window)
        assert snapshots, f"no {window} snapshot"
        entries = snapshots[-1]["entries"]
        assert [e["url"].rsplit("/", 1)[1][:6] for e in entries] == ids
        assert [e["title"] for e in entries] == [zoo.article(x).title for x in ids]


def test_a_failing_window_and_a_lost_section_are_said_and_nothing_half_read_is_stored(tmp_path: Path) -> None:
    family = replace(zoo.BY_NAME["classic"], name="gap", numbers="text")
    home = zoo.render_home(family)
    at = home.index('id="rk-1w"')
    home = home[:at] + home[at:].replace(
        '<span class="rank-no">3</span>', '<span class="rank-no">4</span>', 1
    )
    # The 1m list's first entry, and the mod section page's whole list, moved to URLs of
    # another shape: neither is read as right.
    at = home.index('id="rk-1m"')
    home = home[:at] + home[at:].replace("/docs/mod/004401.html", "/article/004401/", 1)
    section = re.sub(r"/docs/mod/(\d{6})\.html", r"/article/\1/", zoo.render_section(family, "mod"))
    site = zoo.ZooSite(family, pages={"/": home, "/docs/mod/": section})
    with SiteServer({"gap": site}) as server:
        dw = Defwatch(tmp_path)
        dw.write_config(
            f"""
            [store]
            url = "sqlite:///{tmp_path / "defwatch.db"}"

            [crawl]
            autothrottle = false
            timeout = "10s"
            allow_private = true

            [[sources]]
            name = "gap"
            kind = "jdefense"
            url = "{server.url("gap", "/")}"
            probe_misses = 1
            sections = ["mod", "gone"]
            """
        )
        result = dw("crawl", "gap", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    with Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}") as store:
        run = store.runs("gap")[0]
        kept = tmp_path / "pages" / "gap" / "ranking-1w" / "1.html"
        assert run["outcome"] == "degraded"
        assert (
            "the 1w ranking on the home page failed its checks (ranks: shown [1, 2, 4, 4, 5, 6, 7])"
            f" ({server.url('gap', '/')}; page kept as {kept})" in run["reason"]
        )
        assert (
            "section 'gone' is configured but no longer linked from the home page's navigation"
            in run["reason"]
        )
        assert kept.read_text(encoding="utf-8").endswith(home)
        assert (
            "the 1m ranking on the home page failed its checks (ranks: shown [2, 3, 4, 5, 6, 7, 8]; "
            "url-shape: 1 entry links outside the site's article URL shape, e.g. "
            f"{server.url('gap', '/article/004401/')})" in run["reason"]
        )
        assert (
            "the section page's article list fails its url-shape check: a list of 7 title links, none "
            "in the article URL shape /docs/<section>/NNNNNN.html "
            f"(e.g. {server.url('gap', '/article/004433/')}): have the site's URLs changed?" in run["reason"]
        )
        assert (tmp_path / "pages" / "gap" / "listing-url-shape" / "1.html").exists()
        assert store.ranking_snapshots("gap", "1w") == []  # refused, not stored half-right
        assert store.ranking_snapshots("gap", "1m") == []
        assert [
            e["url"][-11:-5] for e in store.ranking_snapshots("gap", "24h")[-1]["entries"]
        ] == zoo.ZOO_RANKING["24h"]
        # The crawl went on: every article the home list and the ranking window that passed
        # lead to is stored (not the world article only its section page links, nor those
        # only the refused windows list: a refused list is not followed).
        stored = {s["url"][-11:-5] for s in store.stories("gap")}
        assert stored == set(zoo.ZOO_HOME) | set(zoo.ZOO_RANKING["24h"])


def test_a_section_gone_from_the_navigation_is_reported(tmp_path: Path) -> None:
    family = replace(zoo.BY_NAME["classic"], name="nav")
    site = zoo.ZooSite(family)
    with SiteServer({"nav": site}) as server:
        dw = Defwatch(tmp_path)
        dw.write_config(
            f"""
            [store]
            url = "sqlite:///{tmp_path / "defwatch.db"}"

            [crawl]
            autothrottle = false
            timeout = "10s"
            allow_private = true

            [[sources]]
            name = "nav"
            kind = "jdefense"
            url = "{server.url("nav", "/")}"
            probe_misses = 1
            """
        )
        first = dw("crawl", "nav", timeout=120)
        site.pages["/"] = zoo.render_home(family).replace(
            '<li><a href="/docs/world/">世界の防衛</a></li>', ""
        )
        second = dw("crawl", "nav", timeout=120)
    assert "Traceback" not in first.stderr + second.stderr, (first.stderr + second.stderr)[-3000:]
    with Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}") as store:
        latest, earlier = store.runs("nav")[:2]
        assert earlier["outcome"] == "ok", earlier["reason"]
        assert latest["outcome"] == "degraded"
        assert latest["reason"] == (
            "section 'world' was linked from the home page's navigation in an earlier run and no "
            "longer is (linked: mod); its page is read this once"
        )


class RelabelledZoo(zoo.ZooSite):
    """The ranking tabs in words of the site's own, which no reader knows."""

    def route(self, path: str, host: str) -> tuple[int, str]:
        status, html = super().route(path, host)
        for label, new in (("24時間", "今日"), ("1週間", "今週"), ("1ヶ月", "今月")):
            html = html.replace(f">{label}<", f">{new}<")
        return status, html


def documented_selectors() -> str:
    """The ``[sources.selectors]`` table of the recipe in docs/sources.md."""
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    recipe = (
        text.split("### When the structure is not enough", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    )
    return "[sources.selectors]" + recipe.split("[sources.selectors]", 1)[1]


def test_selectors_read_what_the_structure_cannot(tmp_path: Path) -> None:
    family = replace(zoo.BY_NAME["classic"], name="relabelled", tabs="span")
    with SiteServer({"site": RelabelledZoo(family)}) as server:
        source = f"""
            kind = "jdefense"
            url = "{server.url("site", "/")}"
            probe_misses = 1
            """
        dw = Defwatch(tmp_path)
        dw.write_config(
            f"""
            [store]
            url = "sqlite:///{tmp_path / "defwatch.db"}"

            [crawl]
            autothrottle = false
            timeout = "10s"
            allow_private = true

            [[sources]]
            name = "plain"
            {source}

            [[sources]]
            name = "chosen"
            {source}
            {documented_selectors()}
            """
        )
        result = dw("crawl", "plain", "chosen", timeout=180)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    with Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}") as store:
        plain, chosen = store.runs("plain")[0], store.runs("chosen")[0]
        assert plain["outcome"] == "degraded"
        assert "ranking block has no tabs with known labels" in plain["reason"]
        assert (chosen["outcome"], chosen["reason"]) == ("ok", None)
        for window, ids in zoo.ZOO_RANKING.items():
            assert [e["url"][-11:-5] for e in store.ranking_snapshots("chosen", window)[-1]["entries"]] == ids
        # One site under two names: each story is stored once, by whichever came first.
        assert len(store.stories()) == len(zoo.ZOO_IDS)
