"""Rows two processes may write at once: the validators of one feed URL (two Scrapyd nodes
crawling one source) and a source's health state (two crawls finishing together). On
PostgreSQL the second writer used to find no row, insert, and fail on the primary key once
the first committed; each is now one ``INSERT … ON CONFLICT`` (store.upsert)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, select

from store import Store
from store import schema as t
from store.outbox import ops_state, set_ops_state
from store.upsert import upsert
from tests import pg

URL = "https://www.mod.go.jp/j/press/news/index.html"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def pg_url(pg_admin_url: str | None) -> Iterator[str]:
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    url = pg.new_database(pg_admin_url)
    with Store.open(url):
        pass  # migrated before the race, as `defwatch init` does
    yield url


def test_two_crawls_keep_the_validators_of_one_feed_at_once(pg_url: str) -> None:
    def first(conn: Connection) -> None:
        upsert(conn, t.http_state, {"url": URL}, {"etag": '"a"', "last_modified": None, "checked": NOW})

    assert pg.race(pg_url, first, lambda store: store.set_http_state(URL, '"b"', None)) == []
    with Store.open(pg_url) as store:
        assert store.http_state(URL) == ('"b"', None)  # the later write wins, as in one process
        with store.engine.connect() as conn:
            assert len(conn.execute(select(t.http_state)).all()) == 1


def test_two_crawls_record_one_source_state_at_once(pg_url: str) -> None:
    def first(conn: Connection) -> None:
        set_ops_state(conn, "mod", "degraded", NOW, None, "listing changed")

    def second(store: Store) -> None:
        with store.transaction() as conn:
            set_ops_state(conn, "mod", "ok", NOW, None, None)

    assert pg.race(pg_url, first, second) == []
    with Store.open(pg_url) as store, store.engine.connect() as conn:
        state = ops_state(conn, "mod")
        assert state is not None and state["state"] == "ok" and state["reason"] is None


def test_validators_are_replaced_and_forgotten(store_factory: Callable[[], Store]) -> None:
    """The same calls on both engines, one process: first write, replacement, forgetting."""
    store = store_factory()
    assert store.http_state(URL) == (None, None)
    store.set_http_state(URL, '"a"', "Fri, 04 Dec 2026 10:00:00 GMT")
    assert store.http_state(URL) == ('"a"', "Fri, 04 Dec 2026 10:00:00 GMT")
    store.set_http_state(URL, '"b"', None)
    assert store.http_state(URL) == ('"b"', None)
    store.set_http_state(URL, None, None)
    assert store.http_state(URL) == (None, None)
