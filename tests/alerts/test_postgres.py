"""One PostgreSQL store shared by several processes, as on a desk with several hosts: two
crawls and two dispatchers at once store each story once and send each delivery once, and
two daemons exclude each other through the database's advisory lock."""

from __future__ import annotations

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
from tests.conftest import Defwatch

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
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite(open_pages=True)}) as server:
        yield server


def at_once(*calls: Callable[[], object]) -> list[object]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_two_crawls_and_two_dispatchers_share_one_store(
    defwatch: Defwatch, sites: SiteServer, receiver: Receiver, pg_url: str
) -> None:
    write_config(defwatch, sites, receiver, pg_url)
    assert defwatch("crawl", "mod").returncode == 0  # migrate once, then race
    crawls = at_once(lambda: defwatch("crawl"), lambda: defwatch("crawl"))
    for crawl in crawls:
        assert crawl.returncode == 0, crawl.stderr  # type: ignore[attr-defined]

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
    other = AdvisoryLock(pg_url)  # as the daemon of another host would hold it
    assert other.acquire()
    try:
        refused = defwatch("run", "--once")
        assert refused.returncode == 2
        assert "another defwatch run is already using this store" in refused.stderr
        assert '"running": true' in defwatch("status", "--json").stdout
    finally:
        other.release()
    assert defwatch("run", "--once").returncode == 0
