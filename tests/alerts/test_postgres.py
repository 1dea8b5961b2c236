"""One PostgreSQL store shared by several processes, as on a desk with several hosts: two
crawls and two dispatchers at once store each story once and send each delivery once, and
two daemons exclude each other through the database's advisory lock."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from imitations.jdefense import JDefenseSite
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store
from store import schema as t
from store.lock import AdvisoryLock
from tests.conftest import REPO, Defwatch

from .conftest import Receiver
from .test_pipeline import write_config


@pytest.fixture
def pg_url(pg_admin_url: str | None) -> str:
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    from tests import pg

    return pg.new_database(pg_admin_url)


@pytest.fixture
def sites() -> Iterator[SiteServer]:
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as server:
        yield server


def scrapy_crawl(defwatch: Defwatch, kind: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", kind, "-a", f"config={defwatch.cwd / 'defwatch.toml'}"],
        cwd=REPO,  # the project's scrapy.cfg, as a node runs it
        env=defwatch.env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def at_once(*calls: Callable[[], object]) -> list[object]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


@pytest.mark.timeout(900)
def test_two_crawls_and_two_dispatchers_share_one_store(
    defwatch: Defwatch, sites: SiteServer, receiver: Receiver, pg_url: str
) -> None:
    write_config(defwatch, sites, receiver, pg_url)
    assert defwatch("status").returncode == 2  # no store yet
    with Store.open(pg_url):
        pass  # migrated once, then the race
    # Two crawl processes at once, as two Scrapyd nodes run them: `scrapy crawl` takes no
    # instance lock (`defwatch crawl` does), so nothing keeps them apart but the store.
    crawls = at_once(*(lambda kind=kind: scrapy_crawl(defwatch, kind) for kind in ("jdefense", "mod")))
    for crawl in crawls:
        assert crawl.returncode == 0, crawl.stderr[-3000:]  # type: ignore[attr-defined]
        assert "Traceback" not in crawl.stderr  # type: ignore[attr-defined]
    with Store.open(pg_url) as store:
        assert {r["outcome"] for s in ("jdefense", "mod") for r in store.runs(s)} == {"ok"}

    with Store.open(pg_url) as store, store.engine.connect() as conn:
        stored = set(conn.execute(select(t.stories.c.url_key)).scalars())
        queued = sorted(conn.execute(select(t.deliveries.c.id)).scalars())
        per_story = conn.execute(
            select(t.deliveries.c.story_id, t.deliveries.c.channel, func.count())
            .group_by(t.deliveries.c.story_id, t.deliveries.c.channel)
            .having(func.count() > 1)
        ).all()
    assert queued, "nothing was queued: the test would prove nothing"
    assert not per_story, "one story queued twice for one channel"
    # The same sites crawled once, alone, into a SQLite store: the racing pair lost nothing.
    alone = defwatch.cwd / "alone"
    alone.mkdir()
    single = Defwatch(alone)
    write_config(single, sites, receiver, f"sqlite:///{alone / 'defwatch.db'}")
    assert single("crawl").returncode == 0
    with Store.open(f"sqlite:///{alone / 'defwatch.db'}") as store, store.engine.connect() as conn:
        assert stored == set(conn.execute(select(t.stories.c.url_key)).scalars())

    dispatchers = at_once(lambda: defwatch("alerts"), lambda: defwatch("alerts"))
    for sent in dispatchers:
        assert sent.returncode == 0, sent.stdout + sent.stderr  # type: ignore[attr-defined]
    delivered = receiver.delivered_ids()
    assert len(delivered) == len(set(delivered)), "a delivery sent twice"
    assert sorted(delivered) == queued, "a delivery lost"
    with Store.open(pg_url) as store, store.engine.connect() as conn:
        statuses = set(conn.execute(select(t.deliveries.c.status)).scalars())
    assert statuses == {"sent"}


@pytest.mark.timeout(600)
def test_a_daemon_on_another_host_holds_the_store(defwatch: Defwatch, sites: SiteServer, pg_url: str) -> None:
    defwatch.write_config(
        f"""
        [store]
        url = "{pg_url}"

        [crawl]
        allow_private = true

        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{sites.url("mod", "/")}"
        """
    )
    assert defwatch("run", "--once").returncode == 0
    other = AdvisoryLock(pg_url)  # as the daemon of another host would hold it
    assert other.acquire()
    try:
        refused = defwatch("run", "--once")
        assert refused.returncode == 2
        assert "another defwatch run is already using this store" in refused.stderr
        assert json.loads(defwatch("status", "--json").stdout)["daemon"]["running"] is True
    finally:
        other.release()
    assert json.loads(defwatch("status", "--json").stdout)["daemon"]["running"] is False
    assert defwatch("run", "--once").returncode == 0
