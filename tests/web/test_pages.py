"""The web page's content for states a crawl of the imitations does not reach (failed runs,
self-checks that refused a ranking, deliveries retrying and given up, revisions), read
through the real app and store, and how the feed server hands requests to it."""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.config import Config, load_config
from core.model import Outcome, RankingSnapshot, RunResult
from feeds.serve import FeedServer, Health
from store import Store, StoryIn
from store import outbox as ob
from web import create_app

NOW = datetime.now(UTC)


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """SQLite, or PostgreSQL where a test asks (``parametrize("config", ..., indirect=True)``)."""
    url = f"sqlite:///{tmp_path / 'defwatch.db'}"
    if getattr(request, "param", "sqlite") == "postgresql":
        admin = request.getfixturevalue("pg_admin_url")
        if admin is None:
            pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
        from tests import pg

        url = pg.new_database(admin)
    path = tmp_path / "defwatch.toml"
    path.write_text(
        f"""
[store]
url = "{url}"

[feeds]
dir = "{tmp_path / "public"}"

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "https://j-defense.example/"

[[sources]]
name = "mod"
kind = "mod"
url = "https://mod.example/"

[[rules]]
name = "asean"
keywords = ["ASEAN"]
""",
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def store(config: Config) -> Iterator[Store]:
    with Store.open(config.store.url) as s:
        yield s


@pytest.fixture
def client(config: Config, store: Store) -> FlaskClient:
    return create_app(config).test_client()


@pytest.mark.parametrize("config", ["sqlite", "postgresql"], indirect=True)
def test_health_shows_failures_self_checks_and_the_outbox(client: FlaskClient, store: Store) -> None:
    ok = store.start_run("jdefense")
    store.finish_run(RunResult("jdefense", Outcome.OK, ok, requests=12, new_stories=3))
    failed = store.start_run("mod")
    store.finish_run(
        RunResult("mod", Outcome.FAILED, failed, errors=1, reason="cannot resolve host mod.example")
    )
    store.save_ranking_snapshot(
        RankingSnapshot.of(
            "jdefense",
            "1w",
            [{"rank": 1, "url": "https://j-defense.example/1", "title": "x"}],
            valid=False,
            reason="count: 1 article, expected 5-20",
        )
    )
    saved = store.save_story(
        StoryIn(url="https://mod.example/a", source="mod", title="ASEAN 会合", body="本文")
    )
    with store.transaction() as conn:
        for n in range(3):
            ob.insert_delivery(
                conn,
                id=f"d{n}",
                rule="asean",
                channel="slack",
                kind="story",
                payload={"story": {"title": "ASEAN 会合"}},
                now=NOW,
                story_id=saved.story_id,
            )
        ob.claim(conn, ["d1", "d2"], NOW, NOW + timedelta(minutes=1))  # an attempt each
        ob.mark_retry(conn, ["d1"], NOW + timedelta(minutes=5), "HTTP 503")
        ob.mark_failed(conn, ["d2"], "HTTP 404: channel gone")
    page = client.get("/health").get_data(as_text=True)
    assert "cannot resolve host mod.example" in page and "失敗 (failed)" in page
    assert "count: 1 article, expected 5-20" in page and "自己チェック失敗" in page
    assert "送信待ち (pending) 1" in page and "再試行中 (retrying) 1" in page and "失敗 (failed) 1" in page
    assert "HTTP 503" in page and "HTTP 404: channel gone" in page
    assert "次回 (next run)" in page
    story = client.get(f"/stories/{saved.story_id}").get_data(as_text=True)
    assert story.count("<td>slack</td>") == 3 and "HTTP 404: channel gone" in story


def test_story_view_shows_revisions_with_what_changed(client: FlaskClient, store: Store) -> None:
    url = "https://mod.example/r"
    store.save_story(StoryIn(url=url, source="mod", title="旧タイトル", body="第一段落\n第二段落"))
    saved = store.save_story(
        StoryIn(url=url, source="mod", title="新タイトル", body="第一段落\n第二段落（訂正）")
    )
    assert saved.status == "revised"
    page = client.get(f"/stories/{saved.story_id}").get_data(as_text=True)
    assert "新タイトル" in page and "旧タイトル" in page
    assert "title, body" in page and "+第二段落（訂正）" in page and "-第二段落" in page


@pytest.mark.parametrize("config", ["sqlite", "postgresql"], indirect=True)
def test_the_page_never_writes(client: FlaskClient, store: Store) -> None:
    store.save_story(StoryIn(url="https://mod.example/w", source="mod", title="t", body="b"))
    before = store.count_stories()
    for path in ("/", "/search?q=t", "/search?q=本文", "/health", "/rankings", "/feeds"):
        assert client.post(path).status_code == 405
        assert client.get(path).status_code == 200
    assert store.count_stories() == before


def test_no_store_yet_is_a_clear_page(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "defwatch.db"
    path = tmp_path / "empty.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{missing}"\n', encoding="utf-8")
    config = load_config(path)
    response = create_app(config).test_client().get("/")
    assert response.status_code == 503
    assert "defwatch crawl" in response.get_data(as_text=True) and not missing.exists()


@pytest.fixture
def server(config: Config, store: Store) -> Iterator[tuple[str, int]]:
    public = Path(config.feeds.dir)
    public.mkdir()
    (public / "index.opml").write_text("<opml version='2.0'/>", encoding="utf-8")
    (public / "all.rss").write_text("<rss/>", encoding="utf-8")
    srv = FeedServer(("127.0.0.1", 0), public, Health(config), create_app(config))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", srv.server_port
    srv.shutdown()
    srv.server_close()


def get(address: tuple[str, int], path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*address, timeout=30)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_a_browser_at_root_gets_the_page_a_reader_the_opml(server: tuple[str, int]) -> None:
    status, headers, body = get(server, "/", Accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
    assert status == 200 and headers["content-type"].startswith("text/html") and "最新記事".encode() in body
    assert "default-src 'none'" in headers["content-security-policy"]
    status, headers, body = get(server, "/", Accept="*/*")
    assert status == 200 and headers["content-type"].startswith("text/x-opml") and headers["etag"]
    status, headers, body = get(server, "/all.rss", Accept="text/html")
    assert status == 200 and body == b"<rss/>" and headers["etag"]


def test_pages_are_gzipped_when_asked_and_utf8_paths_reach_the_app(server: tuple[str, int]) -> None:
    status, headers, body = get(
        server, "/search?q=%E6%97%A5%E8%B1%AA", Accept="text/html", **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert "日豪".encode() in gzip.decompress(body)
    status, _, body = get(server, "/%E8%A8%98%E4%BA%8B/..%2f..%2fetc", Accept="text/html")
    assert status == 404 and b"Traceback" not in body


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/stories/99999999999999999999999", 404, "ありません"),
        ("/stories/-1", 404, "このページはありません"),
        ("/nowhere/../x", 404, "このページはありません"),
        ("/search?q=%ED%A0%80", 200, "一致する記事はありません"),
        ("/?page=%EF%BC%91", 400, "ページ番号"),
        ("/?rule=%FF", 400, "ありません"),
    ],
)
def test_odd_requests_get_a_page_not_a_traceback(
    client: FlaskClient, path: str, status: int, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == status and says in response.get_data(as_text=True)
