"""The feeds of a cycle asked before any crawl process starts (crawler.precheck): an
unchanged feed is recorded as its crawl would record it, without a crawl; any other answer is
handed to the crawl, so a feed is still asked once; what cannot be asked the crawl's way is
left to the crawl."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import load
from crawler import precheck
from crawler.hostcache import HostCache
from imitations.server import SiteServer
from store import Store
from tests.conftest import Defwatch
from tests.scheduler.test_daemon import runs, stop, wait_until

CACHE = HostCache()  # robots.txt as a crawl would have cached it
USER_AGENT = "precheck-test/1.0 (+http://127.0.0.1/)"


class Feeds:
    """RSS feeds at ``/<name>.xml`` with an ETag each; the test sets how many items a feed
    lists (``epoch``), or a status it answers instead, and how long it takes to answer;
    robots.txt as the test sets it."""

    def __init__(self) -> None:
        self.epoch = 0  # SiteServer's control; unused
        self.items: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.robots = b"User-agent: *\nDisallow: /private/\n"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/robots.txt":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [self.robots]
        name = path.strip("/").removesuffix(".xml").replace("/", "-")
        time.sleep(self.delay.get(name, 0.0))
        status = self.status.get(name, 200)
        if status != 200:
            start_response(f"{status} Trouble", [("Content-Type", "text/plain")])
            return [b"trouble"]
        n = self.items.setdefault(name, 2)
        etag = f'"{name}-{n}"'
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [("ETag", etag)])
            return []
        items = "".join(
            f"<item><title>{name} story {i}</title><link>http://example.org/{name}/{i}</link>"
            f"<guid>http://example.org/{name}/{i}</guid><pubDate>Fri, 04 Dec 2026 0{i % 10}:00:00 GMT</pubDate>"
            f"<description>Story {i} of {name}: the ministry said what it said.</description></item>"
            for i in range(n)
        )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'
        )
        start_response("200 OK", [("Content-Type", "application/rss+xml"), ("ETag", etag)])
        return [body.encode()]


@pytest.fixture
def feeds() -> Iterator[tuple[SiteServer, Feeds]]:
    app = Feeds()
    with SiteServer({"feeds": app}) as server:
        yield server, app


def configure(defwatch: Defwatch, server: SiteServer, names: list[str], *extra: str) -> None:
    lines = [
        "[store]",
        'url = "sqlite:///data/defwatch.db"',
        "[crawl]",
        "allow_private = true",
        f'user_agent = "{USER_AGENT}"',
        *extra,
        "[scheduler]",
        'jitter = "0s"',
        "[feeds]",
        'dir = "public"',
    ]
    for name in names:
        url = server.url("feeds", f"/{name.replace('-', '/')}.xml")
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            'kind = "feed"',
            f'url = "{url}"',
            'schedule = "0 0 1 1 *"',
        ]
    defwatch.write_config("\n".join(lines) + "\n")


def cycle(defwatch: Defwatch) -> subprocess.CompletedProcess[str]:
    result = defwatch("run", "--once", "-v", timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return result


def last_run(defwatch: Defwatch, source: str) -> dict[str, Any]:
    return runs(defwatch, source)[-1]


def recorded(run: dict[str, Any]) -> tuple[Any, ...]:
    """What a run says, without its id and times."""
    return (run["outcome"], run["requests"], run["new_stories"], run["errors"], run["reason"], run["stats"])


def feed_gets(server: SiteServer) -> list[Any]:
    return [h for h in server.hits_for("feeds") if h.path != "/robots.txt"]


def test_an_unchanged_cycle_starts_no_crawl_and_records_what_a_crawl_records(
    defwatch: Defwatch, feeds: tuple[SiteServer, Feeds]
) -> None:
    server, _ = feeds
    names = ["news", "notices"]
    configure(defwatch, server, names)
    first = cycle(defwatch)
    assert first.returncode == 0, first.stderr
    assert [last_run(defwatch, n)["new_stories"] for n in names] == [2, 2]
    # the same unchanged cycle, crawled by Scrapy as before the check existed
    configure(defwatch, server, names, "precheck = false")
    crawled = cycle(defwatch)
    assert "precheck" not in crawled.stderr
    by_crawl = {n: recorded(last_run(defwatch, n)) for n in names}
    assert by_crawl["news"][:2] == ("ok", 1)

    configure(defwatch, server, names)
    server.clear_hits()
    checked = cycle(defwatch)
    assert checked.returncode == 0, checked.stderr
    assert "precheck: 2 of 2 sources unchanged (304)" in checked.stderr
    assert "started (pid" not in checked.stderr  # no crawl process
    assert {n: recorded(last_run(defwatch, n)) for n in names} == by_crawl
    hits = server.hits_for("feeds")
    assert sorted(h.path for h in hits) == ["/news.xml", "/notices.xml"]  # robots.txt is cached
    for hit in hits:
        assert hit.status == 304
        assert hit.headers["User-Agent"] == USER_AGENT
        assert hit.headers["If-None-Match"]
    status = defwatch("status")
    assert status.returncode == 0, status.stderr


def test_a_changed_feed_is_asked_once_and_crawled_from_that_answer(
    defwatch: Defwatch, feeds: tuple[SiteServer, Feeds]
) -> None:
    server, app = feeds
    configure(defwatch, server, ["news", "notices"])
    cycle(defwatch)
    app.items["news"] = 5  # three new stories
    server.clear_hits()
    result = cycle(defwatch)
    assert result.returncode == 0, result.stderr
    assert "precheck: 1 of 2 sources unchanged (304), 1 answers handed to the crawl" in result.stderr
    news = last_run(defwatch, "news")
    assert (news["outcome"], news["new_stories"], news["requests"]) == ("ok", 3, 1)
    assert news["stats"]["http_status_200"] == 1
    assert last_run(defwatch, "notices")["stats"]["not_modified"] == 1
    # one request for the changed feed: the crawl read the answer the check had
    assert [(h.path, h.status) for h in feed_gets(server) if h.path == "/news.xml"] == [("/news.xml", 200)]
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        assert store.is_known("http://example.org/news/4", ())
    # and the validators of that answer are the ones asked with next time
    server.clear_hits()
    again = cycle(defwatch)
    assert "precheck: 2 of 2 sources unchanged (304)" in again.stderr
    assert [h.status for h in feed_gets(server)] == [304, 304]


def test_a_feed_in_trouble_gets_from_the_crawl_what_it_got_without_the_check(
    defwatch: Defwatch, feeds: tuple[SiteServer, Feeds]
) -> None:
    """A 500 is handed over like any answer: Scrapy retries it once, as it would have."""
    server, app = feeds
    configure(defwatch, server, ["news"])
    cycle(defwatch)
    app.status["news"] = 500
    configure(defwatch, server, ["news"], "precheck = false")
    server.clear_hits()
    cycle(defwatch)
    without = recorded(last_run(defwatch, "news"))
    asked_without = [(h.path, h.status) for h in feed_gets(server)]
    configure(defwatch, server, ["news"])
    server.clear_hits()
    result = cycle(defwatch)
    assert result.returncode == 1, result.stderr  # a failed source fails the cycle, as before
    assert recorded(last_run(defwatch, "news")) == without
    assert without[0] == "failed" and without[1] == 2  # the answer and Scrapy's one retry
    assert [(h.path, h.status) for h in feed_gets(server)] == asked_without


def test_a_feed_slower_than_the_check_is_asked_once_a_cycle(
    defwatch: Defwatch, feeds: tuple[SiteServer, Feeds]
) -> None:
    """A feed that answers after the check's budget is cut off there and asked again by the
    crawl, once; from then on (its host's latency known) it is left to the crawl: one
    request a cycle, its stories stored."""
    server, app = feeds
    configure(defwatch, server, ["slow"])
    cycle(defwatch)
    app.delay["slow"] = precheck.BUDGET + 1.5
    app.items["slow"] = 3
    server.clear_hits()
    cycle(defwatch)
    assert len(feed_gets(server)) == 2  # cut off by the check, then the crawl's
    assert last_run(defwatch, "slow")["new_stories"] == 1
    app.items["slow"] = 4
    server.clear_hits()
    cycle(defwatch)
    assert len(feed_gets(server)) == 1
    run = last_run(defwatch, "slow")
    assert (run["outcome"], run["requests"], run["new_stories"]) == ("ok", 1, 1)


def test_a_host_too_slow_for_the_budget_is_left_to_the_crawl() -> None:
    """Of each lane, what the host's last latency says fits in half the budget is asked."""

    def asks(host: str, n: int) -> list[precheck._Ask]:
        return [
            precheck._Ask(f"{host}-{i}", f"http://{host}/{i}.xml", host, 80, True, {}, 100) for i in range(n)
        ]

    hosts = HostCache()
    hosts.load(None)
    hosts.remember_latency("slow.example", precheck.BUDGET * 0.6)
    hosts.remember_latency("second.example", 1.0)
    hosts.remember_latency("instant.example", 0.0)
    every = (
        asks("slow.example", 2)
        + asks("second.example", 40)
        + asks("instant.example", 3)
        + asks("new.example", 2)
    )
    lanes = precheck._lanes(every, hosts, delay=0.0)
    asked = {a.source for lane in lanes for a in lane}
    assert not any(name.startswith("slow.example") for name in asked)
    assert sum(name.startswith("second.example") for name in asked) == 40  # 16 lanes of 2 or 3
    assert {"instant.example-0", "instant.example-2", "new.example-1"} <= asked
    many = precheck._lanes(asks("second.example", 100), hosts, delay=0.0)
    assert len(many) == precheck.MAX_THREADS
    assert sum(len(lane) for lane in many) == 16 * 5  # 6 or 7 a lane, 5 fit in 5 s
    spaced = precheck._lanes(asks("second.example", 48), hosts, delay=1.5)
    assert sum(len(lane) for lane in spaced) == 16 * 2  # 1 s + 1.5 s between: 2 of 3 a lane


def test_a_feed_the_check_cannot_reach_is_crawled_as_before(defwatch: Defwatch, closed_url: str) -> None:
    defwatch.write_config(
        "\n".join(
            [
                "[store]",
                'url = "sqlite:///data/defwatch.db"',
                "[crawl]",
                "allow_private = true",
                "[[sources]]",
                'name = "down"',
                'kind = "feed"',
                f'url = "{closed_url}"',
                'schedule = "0 0 1 1 *"',
            ]
        )
        + "\n"
    )
    defwatch.create_store()
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        store.set_http_state(closed_url, '"v1"', None)  # it answered once
    result = cycle(defwatch)
    assert result.returncode == 1
    run = last_run(defwatch, "down")
    assert run["outcome"] == "failed"
    assert "connection refused" in run["reason"]


def test_the_daemons_crawl_processes_ask_their_feeds_first(
    defwatch: Defwatch, feeds: tuple[SiteServer, Feeds]
) -> None:
    server, app = feeds
    configure(defwatch, server, ["news", "notices"])
    text = (defwatch.cwd / "defwatch.toml").read_text(encoding="utf-8")
    defwatch.write_config(text.replace('schedule = "0 0 1 1 *"', 'schedule = "*/3 * * * * *"'))
    daemon = defwatch.popen("-v", "run")
    try:
        wait_until(
            lambda: len([r for r in runs(defwatch, "news") if r["outcome"] != "running"]) >= 3,
            timeout=180,
            what="three runs of news",
        )
        app.items["news"] = 4  # two new stories, read from the answer the check handed over
        seen = len(runs(defwatch, "news"))
        wait_until(
            lambda: any(r["new_stories"] == 2 for r in runs(defwatch, "news")[seen - 1 :]),
            timeout=180,
            what="the new stories",
        )
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert "precheck: 2 of 2 sources unchanged (304)" in stderr
    for name in ("news", "notices"):
        history = [r for r in runs(defwatch, name) if r["outcome"] != "running"]
        assert all(r["outcome"] in ("ok", "interrupted") for r in history), history
        assert history[1]["stats"]["not_modified"] == 1, history[1]
    # every run one request for its feed, the changed one included
    gets = [h for h in feed_gets(server) if h.path == "/news.xml"]
    finished = [r for r in runs(defwatch, "news") if r["outcome"] == "ok"]
    assert len(gets) >= len(finished) and len(gets) <= len(runs(defwatch, "news"))


# -- what is asked, and what is left to the crawl ------------------------------------------------


@pytest.fixture
def site_config(tmp_path: Path, feeds: tuple[SiteServer, Feeds]) -> Iterator[tuple[Path, SiteServer]]:
    server, _ = feeds
    yield tmp_path, server
    CACHE.load(None)


def ask(tmp_path: Path, server: SiteServer, crawl: str, path: str = "/news.xml") -> Any:
    url = server.url("feeds", path)
    (tmp_path / "defwatch.toml").write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/db.sqlite"\n[crawl]\n{crawl}\n'
        f'[[sources]]\nname = "news"\nkind = "feed"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    config = load(str(tmp_path / "defwatch.toml"))
    asked = precheck._ask(config, config.sources[0], ('"v1"', None), precheck._Robots(CACHE, USER_AGENT))
    if asked is not None:
        asked.address = precheck._resolve(asked)  # what the check connects to, if anything
    return asked if asked is None or asked.address is not None else None


def remember_robots(server: SiteServer, body: bytes) -> None:
    netloc = server.url("feeds").split("/")[2]
    CACHE.load(None)
    CACHE.remember_robots(netloc, 200, body, {})


def test_a_feed_is_asked_the_way_its_crawl_would_ask(site_config: tuple[Path, SiteServer]) -> None:
    tmp_path, server = site_config
    remember_robots(server, b"User-agent: *\nDisallow: /private/\n")
    asked = ask(tmp_path, server, "allow_private = true")
    assert asked is not None
    assert asked.headers["If-None-Match"] == '"v1"'
    assert asked.headers["User-Agent"].startswith("defwatch")
    assert asked.address == "127.0.0.1"


@pytest.mark.parametrize(
    ("crawl", "robots", "path", "why"),
    [
        ("allow_private = false", b"", "/news.xml", "a private address the crawl would refuse"),
        ('allow_private = ["example.org"]', b"", "/news.xml", "a private address not named"),
        ("allow_private = true", None, "/news.xml", "robots.txt not cached: the crawl asks for it"),
        (
            "allow_private = true",
            b"User-agent: *\nDisallow: /private/\n",
            "/private/news.xml",
            "robots.txt forbids",
        ),
    ],
)
def test_what_the_crawl_would_refuse_or_ask_otherwise_is_left_to_it(
    site_config: tuple[Path, SiteServer], crawl: str, robots: bytes | None, path: str, why: str
) -> None:
    tmp_path, server = site_config
    if robots is not None:
        remember_robots(server, robots)
    else:
        CACHE.load(None)
    assert ask(tmp_path, server, crawl, path) is None, why


def test_robots_txt_is_not_asked_about_when_not_obeyed(site_config: tuple[Path, SiteServer]) -> None:
    tmp_path, server = site_config
    CACHE.load(None)
    assert ask(tmp_path, server, "allow_private = true\nobey_robots = false") is not None


def test_through_a_proxy_the_crawl_asks(
    site_config: tuple[Path, SiteServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path, server = site_config
    remember_robots(server, b"")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9/")
    assert ask(tmp_path, server, "allow_private = true") is None


def test_an_answer_handed_over_is_taken_once(tmp_path: Path) -> None:
    a = precheck._Ask("news", "http://127.0.0.1:1/news.xml", "127.0.0.1", 1, True, {}, 100)
    a.answer = (
        200,
        "OK",
        [("Content-Type", "application/rss+xml"), ("X-Two", "1"), ("X-Two", "2")],
        b"<rss/>",
        0.01,
    )
    precheck._keep(tmp_path, a)
    assert precheck.take(str(tmp_path), "http://127.0.0.1:1/other.xml") is None
    status, headers, body, _ = precheck.take(str(tmp_path), a.url) or (0, [], b"", 0.0)
    assert (status, body) == (200, b"<rss/>")
    assert headers[1:] == [("X-Two", "1"), ("X-Two", "2")]
    assert precheck.take(str(tmp_path), a.url) is None  # a retry goes to the site
