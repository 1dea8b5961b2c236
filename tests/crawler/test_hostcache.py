"""What a crawl remembers of a host between cycles (crawler.hostcache): robots.txt within
its HTTP caching and at most a day, and the host's last latency."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path

from crawler.hostcache import MAX_AGE, HostCache, cache_path, freshness


def test_robots_txt_is_kept_as_long_as_its_http_caching_allows_and_at_most_a_day() -> None:
    now = time.time()
    assert freshness({}, now) == MAX_AGE == 24 * 3600
    assert freshness({"cache-control": "public, max-age=600"}, now) == 600
    assert freshness({"cache-control": "max-age=604800"}, now) == MAX_AGE
    assert freshness({"cache-control": "no-store"}, now) == 0
    assert freshness({"cache-control": "no-cache"}, now) == 0
    assert 3500 < freshness({"expires": formatdate(now + 3600, usegmt=True)}, now) <= 3600
    assert freshness({"expires": "not a date"}, now) == 0


def test_what_is_remembered_survives_to_the_next_crawl_of_the_store(tmp_path: Path) -> None:
    path = cache_path(f"sqlite:///{tmp_path / 'defwatch.db'}")
    assert path == tmp_path / "defwatch.db.hosts.json"
    assert cache_path("sqlite://") is None  # a store in memory: nothing kept
    cache = HostCache()
    cache.load(path)
    cache.remember_robots("a.example", 200, b"User-agent: *\nDisallow: /x\n", {})
    cache.remember_robots("b.example", 404, b"<html>not found</html>", {})  # no rules
    cache.remember_robots("c.example", 503, b"", {})  # not final: asked again
    cache.remember_robots("d.example", 200, b"User-agent: *\n", {"cache-control": "no-store"})
    cache.remember_latency("a.example", 0.25)
    cache.save()

    again = HostCache()
    again.load(path)
    assert again.robots("a.example") == b"User-agent: *\nDisallow: /x\n"
    assert again.robots("b.example") == b""
    assert again.robots("c.example") is None and again.robots("d.example") is None
    assert again.latency("a.example") == 0.25 and again.latency("b.example") is None


def test_an_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "defwatch.db.hosts.json"
    path.write_text("{not json", encoding="utf-8")
    cache = HostCache()
    cache.load(path)
    assert cache.robots("a.example") is None


def test_two_crawls_of_one_store_saving_at_once_each_write_a_whole_file(tmp_path: Path) -> None:
    """Two crawls of one store (Scrapyd nodes, `scrapy crawl` beside the daemon) end
    together: each writes its own temporary file, never the other's half-written one."""
    path = tmp_path / "defwatch.db.hosts.json"
    in_flight = tmp_path / "defwatch.db.hosts.json.tmp"  # the name every crawl once shared
    in_flight.write_text('{"hosts": {"other.example": {"latency": 0.5, "lat', encoding="utf-8")
    cache = HostCache()
    cache.load(path)
    cache.remember_latency("a.example", 0.25)
    cache.save()
    assert in_flight.read_text(encoding="utf-8").endswith('"lat')  # left to its writer
    again = HostCache()
    again.load(path)
    assert again.latency("a.example") == 0.25
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, in_flight.name]


def test_a_cache_that_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "defwatch.db.hosts.json"
    path.mkdir()  # os.replace cannot put a file there
    cache = HostCache()
    cache.load(path)  # unreadable: starts afresh
    cache.remember_latency("a.example", 0.25)
    cache.save()  # a warning, not an error: robots.txt is asked again next time
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
