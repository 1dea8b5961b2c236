"""The same crawls give the same store on SQLite and on PostgreSQL: stories, copies linked
across sites, ranking snapshots and movements, the alert outbox, runs and what the commands
print — one cycle of the daemon's `run --once` and crawls over several epochs of the
imitation sites, each pair of stores fed the same pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

import imitations.server as site_server
from imitations.jdefense import JDefenseSite
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store, links, search
from store import schema as t
from tests.conftest import Defwatch

EPOCHS = (0, 1, 2)

# Six crawls before the first test, on a machine that may be busy.
pytestmark = pytest.mark.timeout(1200)


@dataclass
class Crawled:
    url: str
    defwatch: Defwatch


def config(store: str, server: SiteServer) -> str:
    return f"""
        [store]
        url = "{store}"

        [crawl]
        allow_private = true
        autothrottle = false
        timeout = "20s"

        [[sources]]
        name = "jdefense"
        kind = "jdefense"
        url = "{server.url("jdefense", "/")}"
        sections = ["mod", "world"]

        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{server.url("mod", "/")}"
        jinji = ["/j/press/jinji/2025/index.html"]

        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        notify = ["log"]

        [channels.log]
        type = "file"
        path = "alerts.jsonl"
        """


@pytest.fixture(scope="module")
def crawled(
    tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str | None
) -> Iterator[dict[str, Crawled]]:
    """Both stores crawled epoch by epoch, the two crawls of an epoch one after the other."""
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    from tests import pg

    queue = site_server._ThreadingWSGIServer.request_queue_size
    site_server._ThreadingWSGIServer.request_queue_size = 128  # Scrapy's bursts overflow 5
    try:
        with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as server:
            stores: dict[str, Crawled] = {}
            for engine in ("sqlite", "postgresql"):
                folder = tmp_path_factory.mktemp(engine)
                url = (
                    f"sqlite:///{folder / 'defwatch.db'}"
                    if engine == "sqlite"
                    else pg.new_database(pg_admin_url)
                )
                stores[engine] = Crawled(url, Defwatch(folder))
                stores[engine].defwatch.write_config(config(url, server))
            for epoch in EPOCHS:
                server.set_epoch(epoch)
                for crawl in stores.values():
                    command = ("run", "--once") if epoch == 0 else ("crawl",)
                    result = crawl.defwatch(*command, timeout=300)
                    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
            yield stores
    finally:
        site_server._ThreadingWSGIServer.request_queue_size = queue


def read(url: str, what: Callable[[Store], object]) -> object:
    with Store.open(url) as store:
        return what(store)


def stories(store: Store) -> list[tuple[object, ...]]:
    return sorted(
        (s["url_key"], s["link"], s["title"], s["published"], s["body"], s["complete"])
        for s in store.stories()
    )


def copy_groups(store: Store) -> list[list[str]]:
    with store.engine.connect() as conn:
        keys = dict(conn.execute(select(t.stories.c.id, t.stories.c.url_key)).all())
        groups = {tuple(sorted(keys[i] for i in links.group_ids(conn, sid))) for sid in keys}
    return sorted(list(g) for g in groups if len(g) > 1)


def snapshots(store: Store) -> dict[str, list[list[tuple[int, str]]]]:
    return {
        w: [[(e["rank"], e["url"]) for e in s["entries"]] for s in store.ranking_snapshots("jdefense", w)]
        for w in ("24h", "1w", "1m")
    }


def outbox(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.deliveries.c.rule, t.deliveries.c.channel, t.deliveries.c.payload)).all()
    return sorted((r.rule, r.channel, r.payload["story"]["url"]) for r in rows)


@pytest.mark.parametrize("what", [stories, copy_groups, snapshots, outbox], ids=lambda f: f.__name__)
def test_the_stores_hold_the_same(crawled: dict[str, Crawled], what: Callable[[Store], object]) -> None:
    on_sqlite = read(crawled["sqlite"].url, what)
    assert on_sqlite, "nothing to compare: the test would prove nothing"
    assert read(crawled["postgresql"].url, what) == on_sqlite


@pytest.mark.parametrize(
    "command",
    [
        ("ranking", "--window", "24h"),
        ("ranking", "--window", "1w"),
        ("stories", "list", "--limit", "1000", "--json"),
    ],
    ids=["ranking-24h", "ranking-1w", "stories-list"],
)
def test_the_commands_print_the_same(crawled: dict[str, Crawled], command: tuple[str, ...]) -> None:
    printed = {}
    for engine, crawl in crawled.items():
        result = crawl.defwatch(*command)
        assert result.returncode == 0, result.stderr
        printed[engine] = result.stdout
    if command[0] == "ranking":  # the heading, the footer and every movement's row carry the
        # time of each store's own crawl: a loaded machine puts the two crawls minutes apart.
        printed = {
            e: re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?", "YYYY-MM-DD hh:mm", out)
            for e, out in printed.items()
        }
    if command[-1] == "--json":  # ids and fetch times are each store's own
        printed = {e: sorted((s["url"], s["title"]) for s in json.loads(out)) for e, out in printed.items()}
    assert printed["postgresql"] == printed["sqlite"] and printed["sqlite"]


def test_status_on_postgresql_reports_every_source(crawled: dict[str, Crawled]) -> None:
    report = json.loads(crawled["postgresql"].defwatch("status", "--json").stdout)
    text = json.dumps(report)
    assert "jdefense" in text and "mod" in text
    assert report["daemon"]["running"] is False


def test_search_finds_the_same_on_both(crawled: dict[str, Crawled]) -> None:
    found = {}
    for engine, crawl in crawled.items():
        result = crawl.defwatch("stories", "search", "ASEAN", "--json")
        assert result.returncode == 0, result.stderr
        found[engine] = sorted(s["url"] for s in json.loads(result.stdout))
    assert found["postgresql"] == found["sqlite"] != []


@pytest.mark.parametrize("typed", ["ＡＳＥＡＮ", "人事発令", "日豪", "艦", "防衛 艦", "鯱"])
def test_each_index_finds_the_same_on_both(
    crawled: dict[str, Crawled], typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trigrams (FTS5, pg_trgm) for the long words; for one or two characters alone, the
    # FTS5 terms and tail indexes on SQLite, the index of characters and pairs on PostgreSQL
    # (each only past the 2,000 newest stories, so looked among first: RECENT 1 here).
    monkeypatch.setattr(search.Fts5Search, "RECENT", 1)
    monkeypatch.setattr(search.TrigramSearch, "RECENT", 1)
    found = {}
    for engine, crawl in crawled.items():
        with Store.open(crawl.url) as store, store.engine.connect() as conn:
            ids = search.search(conn, search.parse(typed), limit=1000)
            urls = conn.execute(select(t.stories.c.id, t.stories.c.url).where(t.stories.c.id.in_(ids)))
            by_id = {i: url for i, url in urls}
            found[engine] = sorted(by_id[i] for i in ids)
    assert found["postgresql"] == found["sqlite"]
    assert found["sqlite"] if typed != "鯱" else not found["sqlite"]
