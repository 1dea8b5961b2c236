"""PostgreSQL faults: the server restarting in the middle of a cycle, and a connection
dropped by the server in the middle of a story's save. Each asserts what a user checks: the
exit code and the run's reason when something could not be stored, every story stored by
the end of the next cycle (none lost), each alerted exactly once.

The restart needs a server of our own (a private cluster, stopped and started again by the
test); the dropped connection is made by the server itself (a trigger that ends its own
session when the chosen story is inserted), on the session's server.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from store import Store
from store.lock import lock_key
from tests import pg
from tests.conftest import Defwatch
from tests.faults.conftest import feed_config, figure
from tests.faults.hostile import HostileServer, rss, wait_for

pytestmark = pytest.mark.timeout(300)

N_ITEMS = 30


def feed() -> bytes:
    return rss([(f"story {i} on the defence budget", f"{{origin}}/story/full/{i}") for i in range(N_ITEMS)])


def alerted(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["story"]["url"] for line in path.read_text().splitlines())


def runs(url: str) -> list[dict[str, Any]]:
    with Store.open(url) as store:
        return list(reversed(store.runs("full", limit=10)))


def stored(url: str) -> int:
    with Store.open(url) as store:
        return store.count_stories()


@pytest.fixture
def cluster() -> Iterator[pg.Cluster]:
    """A server of this test's own, which it may restart."""
    bindir = pg._binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries here (apt-get install postgresql)")
    own = pg.Cluster(bindir)
    try:
        yield own
    finally:
        own.stop()


def test_postgres_restarting_mid_cycle_loses_nothing(cluster: pg.Cluster, tmp_path: Path) -> None:
    """The server restarts after the cycle opened its run and before the crawl saves: every
    connection the crawl and the cycle hold is ended under them."""
    url = pg.new_database(cluster.url)
    alerts = tmp_path / "alerts.jsonl"
    restarted: list[bool] = []
    with HostileServer() as site:
        body = feed()

        def restart_then_serve(req: Any, sock: socket.socket) -> None:
            if not restarted:
                restarted.append(True)
                cluster.restart()
            site.page(sock, req, 200, body, "application/rss+xml")

        defwatch = Defwatch(tmp_path)
        defwatch.write_config(
            feed_config(site.custom("/feed.xml", restart_then_serve), store=url, alerts=alerts)
        )
        first = defwatch("run", "--once", timeout=240)
        assert restarted, "the feed was never read"
        assert "Traceback" not in first.stderr, first.stderr[-3000:]
        (run,) = runs(url)
        # Every connection was found dead as it was taken from its pool and replaced: nothing
        # failed, nothing is left for the next cycle.
        assert first.returncode == 0, first.stderr[-3000:]
        # The single-instance lock went with its session: said, not hidden.
        # (at its end, or by the keeper if it looked while the server was down or after)
        assert re.search(r"advisory lock (had been|may be) lost", first.stderr), first.stderr[-3000:]
        assert run["outcome"] == "ok" and run["new_stories"] == N_ITEMS, run
        assert stored(url) == N_ITEMS
    counts = alerted(alerts)
    assert len(counts) == N_ITEMS and max(counts.values()) == 1, counts
    figure(
        "PostgreSQL restarted mid-cycle",
        f"cycle ok, exit 0: dead connections replaced; {N_ITEMS} of {N_ITEMS} stored, 0 alerted twice",
    )


def test_a_connection_dropped_during_a_save(pg_admin_url: str | None, tmp_path: Path) -> None:
    """The server ends the crawl's session while it inserts one story (inside the save's
    transaction), and again when that story is saved again on its own: the rest of its
    batch is stored, the story is not half stored, the run fails saying so, the next cycle
    stores it, and nothing is alerted twice. (Once only, the retry on its own stores it.)"""
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    url = pg.new_database(pg_admin_url)
    Store.open(url).close()  # the schema, to hang the trigger on
    victim = "/story/full/7"  # ended twice: in its batch's transaction, then on its own
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE fault_twice"))
        conn.execute(
            text(
                """
                CREATE FUNCTION drop_my_connection() RETURNS trigger AS $$
                BEGIN
                    IF NEW.url LIKE '%' || :victim THEN
                        IF nextval('fault_twice') <= 2 THEN
                            PERFORM pg_terminate_backend(pg_backend_pid());
                        END IF;
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql
                """.replace(":victim", f"'{victim}'")
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER drop_my_connection BEFORE INSERT ON stories "
                "FOR EACH ROW EXECUTE FUNCTION drop_my_connection()"
            )
        )
    engine.dispose()
    alerts = tmp_path / "alerts.jsonl"
    with HostileServer() as site:
        defwatch = Defwatch(tmp_path)
        defwatch.write_config(feed_config(site.static("/feed.xml", feed()), store=url, alerts=alerts))
        first = defwatch("run", "--once", timeout=240)
        assert "Traceback" not in first.stderr, first.stderr[-3000:]
        assert first.returncode == 1, first.stderr[-3000:]
        (run,) = runs(url)
        assert run["outcome"] == "failed", run
        assert run["reason"].startswith("1 item could not be stored (first: OperationalError: ")
        assert "terminating connection" in run["reason"] and "tried again next run" in run["reason"]
        with Store.open(url) as store:  # the others were stored again one by one
            assert sorted(s["url"].rsplit("/", 1)[1] for s in store.stories()) == sorted(
                str(i) for i in range(N_ITEMS) if i != 7
            )
        second = defwatch("run", "--once", timeout=240)
        assert second.returncode == 0, second.stderr[-3000:]
        assert stored(url) == N_ITEMS
    counts = alerted(alerts)
    assert len(counts) == N_ITEMS and max(counts.values()) == 1, counts
    figure(
        "PostgreSQL connection dropped in a save",
        f"run failed, exit 1, 1 of {N_ITEMS} unstored (said); stored next cycle; 0 alerted twice",
    )


HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def test_a_daemon_keeps_its_lock_when_the_server_ends_its_session(
    pg_admin_url: str | None, tmp_path: Path
) -> None:
    """The single-instance lock lives as long as its session. Ended by the server, the
    daemon takes it again and says so; ended while another host's daemon takes it at once,
    the daemon stops, saying why, rather than run beside it."""
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    url = pg.new_database(pg_admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    log = tmp_path / "daemon.log"
    with HostileServer() as site, admin.connect() as conn:
        defwatch = Defwatch(tmp_path)
        defwatch.write_config(
            feed_config(site.static("/feed.xml", feed()), store=url, alerts=tmp_path / "alerts.jsonl")
        )
        with log.open("w") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "scheduler", "run"],
                cwd=tmp_path,
                env=defwatch.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            assert wait_for(lambda: conn.execute(text(HOLDER)).first() is not None, 120), log.read_text()
            first = conn.execute(text(HOLDER)).scalar()
            conn.execute(text("SELECT pg_terminate_backend(:pid, 30000)"), {"pid": first})
            assert wait_for(lambda: "taken again" in log.read_text(), 120), log.read_text()
            again = conn.execute(text(HOLDER)).scalar()
            assert again is not None and again != first
            # Ended again, and taken at once by another host's daemon (this session).
            conn.execute(
                text(
                    "DO $$ BEGIN "
                    f"PERFORM pg_terminate_backend(pid, 30000) FROM ({HOLDER}) AS holders; "
                    f"PERFORM pg_advisory_lock({lock_key(url)}); "
                    "END $$"
                )
            )
            daemon.wait(120)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    admin.dispose()
    said = log.read_text()
    assert "another defwatch run has taken it meanwhile: stopping" in said, said
    assert "Traceback" not in said
    figure(
        "PostgreSQL lock session ended",
        "daemon takes the lock again (warned); taken by another host meanwhile: stops, saying why",
    )
