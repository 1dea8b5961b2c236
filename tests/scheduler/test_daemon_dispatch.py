"""The daemon's dispatcher under the issue's bad input: a source slower than its schedule
holds only itself; sources added and removed while the daemon runs; a configuration that
no longer loads; many sources due at the same moment, each with its own run, split over the
cores when there are very many."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.config import SourceConfig
from imitations.server import SiteServer
from scheduler.dispatch import SPLIT_AT, split_batch
from tests.conftest import Defwatch
from tests.scheduler.conftest import HangingServer
from tests.scheduler.test_daemon import (
    YEARLY,
    finished,
    runs,
    stop,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.timeout(600)


def test_a_source_slower_than_its_schedule_holds_only_itself(
    defwatch: Defwatch, mod_site: SiteServer, hanging: HangingServer
) -> None:
    # Both never crawled: they start together, in one process. "slow" never answers (a feed
    # answering after 59 s on a one-minute schedule, stretched past the test).
    write_config(
        defwatch,
        {"slow": hanging.url, "news": mod_site.url("mod", "/j/rss/news.xml")},
        crawl_timeout="10m",
    )
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: bool(hanging.connections), timeout=90, what="the crawl to reach the slow site")
        # news is crawled again and again meanwhile, in processes of its own
        wait_until(lambda: len(finished(defwatch, "news")) >= 3, timeout=180, what="three crawls of news")
        assert [r["outcome"] for r in runs(defwatch, "slow")] == ["running"]
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert all(r["outcome"] in ("ok", "interrupted") for r in runs(defwatch, "news"))
    (slow,) = runs(defwatch, "slow")  # due again while running: its later runs wait or skip
    assert slow["outcome"] == "interrupted", slow
    assert "slow: due again while its previous run is still going; skipped" in stderr


def test_sources_added_and_removed_while_the_daemon_runs(defwatch: Defwatch, mod_site: SiteServer) -> None:
    write_config(defwatch, {"gone": mod_site.url("mod", "/j/rss/news.xml")})
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: len(finished(defwatch, "gone")) >= 1, timeout=90, what="a crawl of gone")
        write_config(defwatch, {"added": mod_site.url("mod", "/j/rss/update.xml")})
        wait_until(lambda: len(finished(defwatch, "added")) >= 2, timeout=120, what="two crawls of added")
        second = runs(defwatch, "added")[1]["id"]
        wait_until(lambda: len(finished(defwatch, "added")) >= 3, timeout=120, what="a third crawl of added")
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert all(r["outcome"] in ("ok", "interrupted") for r in runs(defwatch, "added"))
    # A crawl of "gone" under way at the change ends as it would; none starts after it.
    gone = runs(defwatch, "gone")
    assert all(r["outcome"] in ("ok", "interrupted") for r in gone), gone
    assert max(r["id"] for r in gone) < second, gone


def test_a_configuration_that_no_longer_loads_is_said_and_the_daemon_goes_on(
    defwatch: Defwatch, mod_site: SiteServer
) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml")})
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: len(finished(defwatch, "news")) >= 1, timeout=90, what="a crawl of news")
        good = (defwatch.cwd / "defwatch.toml").read_text(encoding="utf-8")
        (defwatch.cwd / "defwatch.toml").write_text(good + "[[sources]\n", encoding="utf-8")
        wait_until(
            lambda: any(r["outcome"] == "failed" for r in runs(defwatch, "news")),
            timeout=120,
            what="a crawl that cannot read the configuration",
        )
        (defwatch.cwd / "defwatch.toml").write_text(good, encoding="utf-8")
        count = len(runs(defwatch, "news"))
        wait_until(
            lambda: any(r["outcome"] == "ok" for r in runs(defwatch, "news")[count:]),
            timeout=120,
            what="a crawl after the configuration was mended",
        )
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert stderr.count("configuration changed but not read again") == 1, stderr
    failed = [r for r in runs(defwatch, "news") if r["outcome"] == "failed"]
    assert all("TOML syntax error" in (r["reason"] or "") for r in failed), failed


class _Feeds(ThreadingHTTPServer):
    """``/feed/<i>.xml``: a feed of one story of its own for every i."""

    request_queue_size = 1024
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FeedHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/feed/{i}.xml"


class _FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        i = self.path.removeprefix("/feed/").removesuffix(".xml")
        link = f"http://127.0.0.1:{self.server.server_address[1]}/a/{i}.html"
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
            f"<link>{link}</link><description>d</description><item><title>story {i}</title>"
            f"<link>{link}</link><pubDate>Thu, 13 Feb 2025 10:00:00 +0900</pubDate>"
            f"<description>story {i}</description></item></channel></rss>"
        ).encode()
        self.send_response(200 if self.path.startswith("/feed/") else 404)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_many_sources_due_at_once_each_get_their_own_run_in_one_process(
    defwatch: Defwatch, tmp_path: Path
) -> None:
    n = 150  # the 1,000 is bench/peers.py --daemon; more than SPLIT_AT split (below)
    server = _Feeds()
    try:
        write_config(defwatch, {f"feed{i}": server.url(i) for i in range(n)}, schedule=YEARLY)
        log = tmp_path / "daemon.log"
        with log.open("w") as out:  # -v: one line per source; a file, not a pipe that fills
            daemon = subprocess.Popen(
                [sys.executable, "-m", "scheduler", "-v", "run"],
                cwd=defwatch.cwd,
                env=defwatch.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                text=True,
            )
        try:
            wait_until(lambda: "crawl batch of" in log.read_text(), timeout=600, what="every source's crawl")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert daemon.returncode == 0
    text = log.read_text()
    assert text.count(": started (pid ") == 1, text[-3000:]
    assert f"crawl batch of {n} sources: done in " in text and f"(ok {n})" in text, text[-3000:]
    for i in range(n):
        (run,) = runs(defwatch, f"feed{i}")
        assert run["outcome"] == "ok" and run["new_stories"] == 1, run
    assert "skipped" not in text


def _sources(n: int) -> list[SourceConfig]:
    return [SourceConfig(name=f"s{i}", kind="feed", url=f"http://127.0.0.1/{i}") for i in range(n)]


S = SPLIT_AT


@pytest.mark.parametrize(
    ("n", "most", "sizes"),
    [
        (1, 2, [1]),
        (S, 2, [S]),
        (2 * S - 1, 2, [2 * S - 1]),
        (2 * S, 2, [S, S]),
        (2 * S + 1, 2, [S + 1, S]),
        (2 * S, 1, [2 * S]),
        (2 * S, 0, [2 * S]),
        (4 * S, 4, [S, S, S, S]),
        (4 * S, 2, [2 * S, 2 * S]),
    ],
    ids=["one", "split-at", "under-two", "two", "odd", "one-core", "no-free-core", "four-cores", "two-cores"],
)
def test_sources_due_together_split_in_parts_over_the_free_cores(n: int, most: int, sizes: list[int]) -> None:
    sources = _sources(n)
    parts = split_batch(sources, most)
    assert [len(p) for p in parts] == sizes
    assert [s for p in parts for s in p] == sources  # neighbours stay together, none lost


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_the_daemon_goes_on_when_its_crawl_zygote_dies(defwatch: Defwatch, mod_site: SiteServer) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml")})
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: len(finished(defwatch, "news")) >= 1, timeout=90, what="a crawl of news")
        (zygote,) = _children_of(daemon.pid)  # its crawls are the zygote's children
        os.kill(zygote, signal.SIGKILL)
        count = len(finished(defwatch, "news"))
        wait_until(lambda: len(finished(defwatch, "news")) >= count + 2, timeout=180, what="two crawls after")
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert "the crawl zygote is gone: crawl processes start afresh" in stderr
    outcomes = [r["outcome"] for r in runs(defwatch, "news")]
    # a crawl under way when the zygote died died with it, and says so
    assert set(outcomes) <= {"ok", "failed", "interrupted"} and outcomes.count("ok") >= 3, outcomes
