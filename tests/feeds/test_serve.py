"""``defwatch serve`` as a feed reader meets it: a real subprocess answering real HTTP on
127.0.0.1, with validators, gzip, content types, no way out of the folder, and /healthz."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import pytest

from core.model import Outcome, RunResult
from feeds.build import build_all
from store import Store
from tests.conftest import Defwatch
from tests.feeds.conftest import Server, Site
from tests.feeds.data import make_config

FAST_SOURCE = """
[scheduler]
crawl_timeout = "3s"
jitter = "0s"
misfire_grace = "0s"

[[sources]]
name = "fast"
kind = "feed"
url = "https://fast.example/feed"
schedule = "* * * * * *"
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Site]]:
    folder = tmp_path_factory.mktemp("serve")
    site = Site(folder)
    site.build()
    (folder / "secret.txt").write_text("outside the feed folder")
    (site.public / "notes.txt").write_text("not a feed")
    (site.public / "leak.rss").symlink_to(folder / "defwatch.toml")
    server = Server(Defwatch(folder))
    yield server, site
    assert server.stop() == 0
    site.store.close()


# -- files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/all.rss", "application/rss+xml; charset=utf-8"),
        ("/all.atom", "application/atom+xml; charset=utf-8"),
        ("/sources/mod.rss", "application/rss+xml; charset=utf-8"),
        ("/rules/asean.atom", "application/atom+xml; charset=utf-8"),
        ("/ranking/24h.rss", "application/rss+xml; charset=utf-8"),
        ("/index.opml", "text/x-opml; charset=utf-8"),
        ("/", "text/x-opml; charset=utf-8"),
    ],
    ids=lambda v: str(v),
)
def test_feed_files_are_served_with_their_type(
    served: tuple[Server, Site], path: str, content_type: str
) -> None:
    server, site = served
    response, body = server.body(path)
    assert response.status == 200
    assert response.getheader("Content-Type") == content_type
    name = "index.opml" if path == "/" else path[1:]
    assert body == (site.public / name).read_bytes()
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("ETag", "").startswith('"')
    assert response.getheader("Last-Modified") == formatdate(
        int((site.public / name).stat().st_mtime), usegmt=True
    )


def test_if_none_match_answers_304(served: tuple[Server, Site]) -> None:
    server, _ = served
    etag = server.get("/all.atom").getheader("ETag")
    response, body = server.body("/all.atom", {"If-None-Match": etag})
    assert response.status == 304 and body == b""
    assert response.getheader("ETag") == etag
    assert server.get("/all.atom", {"If-None-Match": '"something-else"'}).status == 200
    assert server.get("/all.atom", {"If-None-Match": f'"x", W/{etag}'}).status == 304


def test_if_modified_since_answers_304(served: tuple[Server, Site]) -> None:
    server, _ = served
    modified = server.get("/sources/jdefense.rss").getheader("Last-Modified")
    assert server.get("/sources/jdefense.rss", {"If-Modified-Since": modified}).status == 304
    assert (
        server.get("/sources/jdefense.rss", {"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"}).status
        == 200
    )
    # If-None-Match decides when both are sent
    both = {"If-Modified-Since": modified, "If-None-Match": '"stale"'}
    assert server.get("/sources/jdefense.rss", both).status == 200


def test_gzip_when_the_client_accepts_it(served: tuple[Server, Site]) -> None:
    server, site = served
    response, body = server.body("/all.rss", {"Accept-Encoding": "gzip, deflate"})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(body) == (site.public / "all.rss").read_bytes()
    assert len(body) < (site.public / "all.rss").stat().st_size / 3
    etag = response.getheader("ETag")
    assert server.get("/all.rss", {"Accept-Encoding": "gzip", "If-None-Match": etag}).status == 304
    refused = server.get("/all.rss", {"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.getheader("Content-Encoding") is None


def test_head_has_the_headers_and_no_body(served: tuple[Server, Site]) -> None:
    server, site = served
    response = server.get("/all.atom", method="HEAD")
    assert response.status == 200 and response.getheader("ETag")
    assert response.getheader("Content-Length") == str((site.public / "all.atom").stat().st_size)


@pytest.mark.parametrize(
    "path",
    [
        "/../defwatch.toml",
        "/%2e%2e/defwatch.toml",
        "/sources/../../defwatch.toml",
        "/sources/%2E%2E/%2e%2e/secret.txt",
        "/..%2fdefwatch.toml",
        "/%2e%2e%2fdefwatch.db",
        "/..\\defwatch.toml",
        "/%5c..%5cdefwatch.toml",
        "//etc/passwd",
        "/defwatch.toml",
        "/notes.txt",
        "/leak.rss",
        "/.all.rss.tmp",
        "/sources/",
        "/missing.rss",
        "/all.rss%00.txt",
    ],
)
def test_nothing_outside_the_feed_files_is_served(served: tuple[Server, Site], path: str) -> None:
    server, _ = served
    response, body = server.body(path)
    assert response.status == 404
    assert b"store" not in body and b"sqlite" not in body


def test_a_rebuilt_file_gets_new_validators(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.build()
    server = Server(Defwatch(tmp_path))
    try:
        first = server.get("/all.atom")
        from store import StoryIn

        site.store.save_story(
            StoryIn(
                url="https://j-defense.ikaros.jp/docs/mod/009000.html", source="jdefense", title="新しい記事"
            )
        )
        time.sleep(1.1)  # Last-Modified has whole seconds
        build_all(site.config, site.store)
        response = server.get("/all.atom", {"If-None-Match": first.getheader("ETag")})
        assert response.status == 200
        assert response.getheader("ETag") != first.getheader("ETag")
        assert response.getheader("Last-Modified") != first.getheader("Last-Modified")
    finally:
        assert server.stop() == 0
        site.store.close()


# -- health ----------------------------------------------------------------------------


def health(server: Server) -> tuple[int, dict]:  # type: ignore[type-arg]
    response, body = server.body("/healthz")
    assert response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(body)


def test_healthz_reports_the_store_and_every_source(served: tuple[Server, Site]) -> None:
    server, site = served
    run = site.store.start_run("jdefense")
    site.store.finish_run(RunResult("jdefense", Outcome.OK, run))
    status, doc = health(server)
    answered = datetime.now(UTC)  # after the server's clock read its "now"
    assert status == 200 and doc["ok"] is True
    assert doc["store"] == {"reachable": True}
    assert set(doc["sources"]) == {"jdefense", "mod", "navalnews"}
    jdefense = doc["sources"]["jdefense"]
    assert jdefense["last_success"].endswith("+09:00")
    # The age is the server's now less the success: at most our clock after the answer less
    # it (a bound on a loaded machine, not a duration: no fixed number of seconds).
    since = (answered - datetime.fromisoformat(jdefense["last_success"])).total_seconds()
    assert 0 <= jdefense["age_seconds"] <= since + 0.1
    assert jdefense["overdue"] is False
    # never run yet: not overdue, counted from when serve started
    assert doc["sources"]["mod"]["last_success"] is None and doc["sources"]["mod"]["overdue"] is False


def test_healthz_503_when_a_source_is_overdue(tmp_path: Path) -> None:
    # "fast" crawls every second and may take 3 s: overdue about 5 s after a success.
    config = make_config(tmp_path, extra=FAST_SOURCE)
    server = Server(Defwatch(tmp_path))
    try:
        with Store.open(config.store.url) as store:
            store.finish_run(RunResult("fast", Outcome.OK, store.start_run("fast")))
        status, doc = health(server)
        answered = datetime.now(UTC)
        deadline = datetime.fromisoformat(doc["sources"]["fast"]["overdue_after"])
        # Not overdue yet, when the answer came before the deadline (the server's now was
        # earlier still); at load 40 the first answer may itself come after it.
        if answered < deadline:
            assert status == 200, doc
        time.sleep(max(0.0, deadline.timestamp() - time.time()) + 1.2)
        status, doc = health(server)
        assert status == 503
        assert doc["ok"] is False and doc["sources"]["fast"]["overdue"] is True
        assert doc["sources"]["jdefense"]["overdue"] is False
    finally:
        assert server.stop() == 0


def test_healthz_503_when_the_store_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the store's folder should be")
    (tmp_path / "defwatch.toml").write_text('[store]\nurl = "sqlite:///blocker/defwatch.db"\n')
    server = Server(Defwatch(tmp_path))
    try:
        status, doc = health(server)
        assert status == 503
        assert doc["store"]["reachable"] is False and "blocker" in doc["store"]["error"]
        assert server.get("/all.rss").status == 404  # nothing built: still answering
    finally:
        assert server.stop() == 0


def test_serve_says_where_and_stops_cleanly(tmp_path: Path) -> None:
    server = Server(Defwatch(tmp_path))
    assert server.banner.startswith("serving public/ at http://127.0.0.1:")
    assert server.stop() == 0


def test_a_port_in_use_is_one_line(served: tuple[Server, Site], tmp_path: Path) -> None:
    server, _ = served
    result = Defwatch(tmp_path)("serve", "--port", str(server.port))
    assert result.returncode == 2
    assert result.stderr.startswith(f"defwatch: serve: cannot listen on 127.0.0.1:{server.port}")
    assert len(result.stderr.strip().splitlines()) == 1
