"""One crawl process per cycle: every source of ``run --once`` crawls in one child, each
with its own run, outcome and time limit; the child dies with its parent and holds the
store's lock while it lives; runs left ``running`` by a killed crawl are closed at the next
start."""

from __future__ import annotations

import os
import signal

from imitations.server import SiteServer
from scheduler.lock import is_held
from tests.conftest import Defwatch
from tests.scheduler.conftest import HangingServer
from tests.scheduler.test_daemon import runs, stop, wait_until


def write_sources(defwatch: Defwatch, sources: list[tuple[str, str, str]], crawl_timeout: str) -> None:
    """(name, kind, url) sources, each with the extra TOML lines a kind needs."""
    lines = [
        "[store]",
        'url = "sqlite:///data/defwatch.db"',
        "[crawl]",
        "allow_private = true",
        "autothrottle = false",
        'timeout = "60s"',  # per request: longer than the crawl's own limit
        "[scheduler]",
        f'crawl_timeout = "{crawl_timeout}"',
        'jitter = "0s"',
        "[feeds]",
        'dir = "public"',
    ]
    for name, kind, url in sources:
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            f'kind = "{kind}"',
            f'url = "{url}"',
            'schedule = "0 0 1 1 *"',
        ]
        if kind == "jdefense":
            lines.append('sections = ["not/a/segment"]')  # the spider raises while it starts
    defwatch.write_config("\n".join(lines) + "\n")


def test_one_process_isolates_a_raising_a_hanging_and_a_down_source(
    defwatch: Defwatch, mod_site: SiteServer, hanging: HangingServer, closed_url: str
) -> None:
    write_sources(
        defwatch,
        [
            ("news", "feed", mod_site.url("mod", "/j/rss/news.xml")),
            ("hangs", "feed", hanging.url),
            ("down", "feed", closed_url),
            ("raises", "jdefense", mod_site.url("mod", "/")),
        ],
        crawl_timeout="6s",
    )
    # the hanging source never answers: without the 6s crawl_timeout this run would not end
    result = defwatch("run", "--once", "-v", timeout=300)
    assert result.returncode == 1, result.stderr
    started = [line for line in result.stderr.splitlines() if ": started (pid " in line]
    assert len(started) == 1, "\n".join(started)  # one crawl process for the four sources

    (news,) = runs(defwatch, "news")
    assert news["outcome"] == "ok" and news["new_stories"] > 0, news
    (hangs,) = runs(defwatch, "hangs")
    assert hanging.connections, "the crawl never reached the hanging site"
    # cut by its own spider at crawl_timeout (the process was not killed for it)
    assert hangs["outcome"] == "timeout" and "crawl_timeout" in hangs["reason"], hangs
    assert "killed" not in hangs["reason"]
    (down,) = runs(defwatch, "down")
    assert down["outcome"] == "failed" and "connection refused" in down["reason"], down
    (raises,) = runs(defwatch, "raises")
    assert raises["outcome"] == "failed" and "not a path segment" in raises["reason"], raises


def test_a_crawl_child_dies_with_its_run_and_its_runs_are_closed_at_the_next_start(
    defwatch: Defwatch, mod_site: SiteServer, hanging: HangingServer
) -> None:
    write_sources(
        defwatch,
        [("news", "feed", mod_site.url("mod", "/j/rss/news.xml")), ("hangs", "feed", hanging.url)],
        crawl_timeout="10m",
    )
    run = defwatch.popen("run", "--once")
    try:
        wait_until(lambda: bool(hanging.connections), timeout=90, what="the crawl to reach the hanging site")
        wait_until(lambda: any(r["outcome"] == "ok" for r in runs(defwatch, "news")), timeout=90, what="news")
        os.kill(run.pid, signal.SIGKILL)  # the run only: its crawl child is in a session of its own
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    store_url = f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}"
    # The child (and its page worker) held the lock too; both are gone soon after their parent.
    wait_until(lambda: is_held(store_url) is False, timeout=30, what="the crawl process to die with its run")
    (left,) = runs(defwatch, "hangs")
    assert left["outcome"] == "running"  # nobody could record it

    assert defwatch("crawl", "news").returncode == 0  # the next start, with the lock, closes it
    (closed,) = runs(defwatch, "hangs")
    assert closed["outcome"] == "interrupted" and "killed or crashed" in closed["reason"], closed


def test_a_signal_interrupts_only_the_feeds_still_crawling_in_the_shared_crawler(
    defwatch: Defwatch, mod_site: SiteServer, hanging: HangingServer
) -> None:
    # Both feeds crawl in one Scrapy crawler (crawler.batch); "news" is done and recorded
    # while "hangs" still waits, so a stop interrupts "hangs" only.
    write_sources(
        defwatch,
        [("news", "feed", mod_site.url("mod", "/j/rss/news.xml")), ("hangs", "feed", hanging.url)],
        crawl_timeout="10m",
    )
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: bool(hanging.connections), timeout=90, what="the crawl to reach the hanging site")
        wait_until(lambda: any(r["outcome"] == "ok" for r in runs(defwatch, "news")), timeout=90, what="news")
    finally:
        code, _, stderr = stop(daemon, signal.SIGTERM)
    assert code == 0, stderr
    (news,) = runs(defwatch, "news")
    assert news["outcome"] == "ok" and news["new_stories"] > 0, news
    (hangs,) = runs(defwatch, "hangs")
    assert hangs["outcome"] == "interrupted" and hangs["finished"] is not None, hangs
