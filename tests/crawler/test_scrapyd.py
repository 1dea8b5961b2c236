"""Crawls on Scrapyd nodes: two real Scrapyd processes on 127.0.0.1, started from a folder
holding the project's scrapy.cfg (no egg deployed), one PostgreSQL store, the imitation
sites. `defwatch run --once` schedules each source on a node, waits, then alerts and feeds
from the shared store; `status` says where each crawl ran; a node that is down or does not
know the project is passed over."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from imitations.jdefense import JDefenseSite
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store
from tests.conftest import REPO, Defwatch
from tests.faults.hostile import HostileServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScrapydNode:
    def __init__(self, folder: Path, with_project: bool = True) -> None:
        folder.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # The image's node configuration (deploy/scrapyd.conf), on loopback and a free port.
        conf = (REPO / "deploy" / "scrapyd.conf").read_text(encoding="utf-8")
        conf = conf.replace("bind_address = 0.0.0.0", "bind_address = 127.0.0.1")
        conf = conf.replace("http_port = 6800", f"http_port = {self.port}")
        conf = conf.replace("poll_interval = 1.0", "poll_interval = 0.2")
        assert f"http_port = {self.port}" in conf and "127.0.0.1" in conf
        (folder / "scrapyd.conf").write_text(conf, encoding="utf-8")
        if with_project:  # the project's own scrapy.cfg: its [settings] names the project
            shutil.copy(REPO / "scrapy.cfg", folder / "scrapy.cfg")
        env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"],
            cwd=folder,
            env=env,
            stdout=(folder / "scrapyd.log").open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the node and its jobs, to end at once (vanish)
        )
        self.folder = folder
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "daemonstatus.json", timeout=5).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("scrapyd did not start: " + (folder / "scrapyd.log").read_text()[-2000:])

    def vanish(self) -> None:
        """The host goes away: the node and every job it runs are killed at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., ScrapydNode]]:
    started: list[ScrapydNode] = []

    def start(name: str, with_project: bool = True) -> ScrapydNode:
        node = ScrapydNode(tmp_path / name, with_project)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


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


def configure(
    defwatch: Defwatch, sites: SiteServer, store: str, node_urls: list[str], slow_feed: str = ""
) -> None:
    """Two imitation sources; with ``slow_feed``, mod and a feed source named slow."""
    jdefense = f"""
        [[sources]]
        name = "jdefense"
        kind = "jdefense"
        url = "{sites.url("jdefense", "/")}"
        sections = ["mod", "world"]
        """
    slow = f"""
        [[sources]]
        name = "slow"
        kind = "feed"
        url = "{slow_feed}"
        """
    defwatch.write_config(
        f"""
        [store]
        url = "{store}"

        [crawl]
        autothrottle = false
        allow_private = true
        scrapyd = {json.dumps(node_urls)}

        [scheduler]
        crawl_timeout = "5m"

        [feeds]
        dir = "{defwatch.cwd / "public"}"

        {"" if slow_feed else jdefense}
        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{sites.url("mod", "/")}"
        jinji = ["/j/press/jinji/2025/index.html"]
        {slow if slow_feed else ""}

        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        notify = ["log"]

        [channels.log]
        type = "file"
        path = "{defwatch.cwd / "alerts.jsonl"}"
        """
    )


def runs_by_source(
    url: str, sources: tuple[str, ...] = ("jdefense", "mod")
) -> dict[str, list[dict[str, Any]]]:
    with Store.open(url) as store:
        return {s: list(reversed(store.runs(s, limit=10))) for s in sources}


@pytest.mark.timeout(900)
def test_two_cycles_of_the_imitations_through_two_nodes(
    defwatch: Defwatch, sites: SiteServer, pg_url: str, nodes: Callable[..., ScrapydNode]
) -> None:
    a, b = nodes("a"), nodes("b")
    configure(defwatch, sites, pg_url, [a.url, b.url])
    for epoch in (0, 1):
        sites.set_epoch(epoch)
        result = defwatch("run", "--once", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]

    runs = runs_by_source(pg_url)
    for source, its_runs in runs.items():
        assert [r["outcome"] for r in its_runs] == ["ok", "ok"], (source, its_runs)
    where = {r["stats"]["node"] for rs in runs.values() for r in rs}  # type: ignore[index]
    assert where == {a.url, b.url}, "the crawls were not spread over both nodes"
    with Store.open(pg_url) as store:
        stored = store.stories()
        assert {s["source"] for s in stored} == {"jdefense", "mod"}
        assert store.ranking_snapshots("jdefense", "24h"), "no ranking recorded by the node's crawl"
    alerts = [json.loads(line) for line in (defwatch.cwd / "alerts.jsonl").read_text().splitlines()]
    assert alerts and all(
        "ASEAN" in a["story"]["title"].upper() or "ＡＳＥＡＮ" in a["story"]["title"] for a in alerts
    )
    assert (defwatch.cwd / "public" / "all.rss").exists()

    report = json.loads(defwatch("status", "--json").stdout)
    last = {s["name"]: s["last_run"]["stats"]["node"] for s in report["sources"]}
    assert last == {r: runs[r][-1]["stats"]["node"] for r in runs}  # type: ignore[index]
    shown = defwatch("status").stdout
    for source, node in last.items():
        assert f"{source}: crawled on {node}" in shown


@pytest.mark.timeout(600)
def test_a_node_that_is_down_or_lacks_the_project_is_passed_over(
    defwatch: Defwatch, sites: SiteServer, pg_url: str, nodes: Callable[..., ScrapydNode]
) -> None:
    bare = nodes("bare", with_project=False)
    good = nodes("good")
    down = f"http://127.0.0.1:{free_port()}/"
    configure(defwatch, sites, pg_url, [down, bare.url, good.url])
    result = defwatch("crawl", "mod", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    (run,) = runs_by_source(pg_url)["mod"]
    assert run["outcome"] == "ok" and run["stats"]["node"] == good.url  # type: ignore[index]
    # The node that cannot say how busy it is (down) is tried last: never, here.
    assert "project 'defwatch' not found" in result.stderr and "cannot connect" not in result.stderr


def test_no_node_takes_the_job(defwatch: Defwatch, sites: SiteServer, pg_url: str) -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    configure(defwatch, sites, pg_url, [down])
    result = defwatch("crawl", "mod", timeout=300)
    assert result.returncode == 1
    (run,) = runs_by_source(pg_url)["mod"]
    assert run["outcome"] == "failed"
    assert run["reason"] == f"no Scrapyd node took the job: {down}: cannot connect"


class BrokenNode:
    """A node whose host answers its status but 500 to everything else (a Scrapyd behind a
    proxy whose backend fails): it looks idle, so it is asked first."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                if self.path.startswith("/daemonstatus.json"):
                    body, status = b'{"status": "ok", "running": 0, "pending": 0, "finished": 0}', 200
                else:
                    body, status = b"Internal Server Error", 500
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.timeout(600)
def test_a_node_answering_500_and_a_node_vanishing_mid_job(
    defwatch: Defwatch, sites: SiteServer, pg_url: str, nodes: Callable[..., ScrapydNode]
) -> None:
    """A node answering 500 is passed over, named; a node that vanishes while its job reads
    a feed (the host gone, the job with it) ends that source's run failed with the reason;
    the other source, on the other node, is crawled, stored and alerted as usual."""
    a, b = nodes("a"), nodes("b")
    broken = BrokenNode()
    reading, release = threading.Event(), threading.Event()
    results: list[subprocess.CompletedProcess[str]] = []
    try:
        with HostileServer() as hostile:

            def hang(req: object, sock: socket.socket) -> None:
                reading.set()
                release.wait(300)  # the job reads until its node is gone

            configure(defwatch, sites, pg_url, [broken.url, a.url, b.url], hostile.custom("/slow.xml", hang))
            cycle = threading.Thread(target=lambda: results.append(defwatch("run", "--once", timeout=500)))
            cycle.start()
            assert reading.wait(300), "the slow source's job never read its feed"
            with Store.open(pg_url) as store:
                (slow_run,) = store.runs("slow")
            host = {a.url: a, b.url: b}[slow_run["stats"]["node"]]
            host.vanish()
            cycle.join(500)
            release.set()
    finally:
        release.set()
        broken.stop()
    (result,) = results
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"{broken.url}: HTTP 500 Internal Server Error" in result.stderr
    with Store.open(pg_url) as store:
        runs = {s: store.runs(s) for s in ("mod", "slow")}
        from_mod = [s for s in store.stories() if s["source"] == "mod"]
    (slow,) = runs["slow"]
    assert slow["outcome"] == "failed", slow
    assert slow["reason"] == f"Scrapyd node {host.url} stopped answering during the job"
    (mod,) = runs["mod"]
    assert mod["outcome"] == "ok" and mod["new_stories"] > 0, mod
    assert mod["stats"]["node"] != broken.url
    assert len(from_mod) == mod["new_stories"]
    assert (defwatch.cwd / "public" / "all.rss").exists(), "the cycle did not go on to the feeds"


@pytest.mark.timeout(600)
def test_a_job_that_never_finishes_ends_at_the_crawl_timeout(
    defwatch: Defwatch, sites: SiteServer, pg_url: str, nodes: Callable[..., ScrapydNode]
) -> None:
    node = nodes("a")
    release = threading.Event()
    try:
        with HostileServer() as hostile:
            feed_url = hostile.custom("/stuck.xml", lambda req, sock: release.wait(300))
            configure(defwatch, sites, pg_url, [node.url], feed_url)
            config = (defwatch.cwd / "defwatch.toml").read_text(encoding="utf-8")
            defwatch.write_config(config.replace('crawl_timeout = "5m"', 'crawl_timeout = "5s"'))
            result = defwatch("crawl", "slow", timeout=500)
    finally:
        release.set()
    assert result.returncode == 1, result.stderr[-3000:]
    (run,) = runs_by_source(pg_url, ("slow",))["slow"]
    assert run["outcome"] == "timeout", run
    # The job was handed the crawl timeout (a node's `scrapy crawl` knows only the project's
    # defaults) and ended itself there, its request in flight cut.
    assert run["reason"] == "the crawl took longer than [scheduler] crawl_timeout", run
    jobs = requests.get(node.url + "listjobs.json", params={"project": "defwatch"}, timeout=10).json()
    assert not jobs["running"] and not jobs["pending"], "the job still runs on the node"
