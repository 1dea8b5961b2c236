"""``defwatch feeds`` as a user runs it: one line saying what was written."""

from __future__ import annotations

import feedparser

from store import Store
from tests.conftest import Defwatch
from tests.feeds.data import fill, make_config


def test_feeds_builds_then_finds_nothing_to_write(defwatch: Defwatch) -> None:
    config = make_config(defwatch.cwd)
    with Store.open(config.store.url) as store:
        fill(store)
    first = defwatch("feeds")
    assert first.returncode == 0, first.stderr
    assert "12 feeds (rss/atom) and index.opml" in first.stdout and "25 written" in first.stdout
    parsed = feedparser.parse((defwatch.cwd / "public" / "all.atom").read_bytes())
    assert not parsed.bozo and parsed.entries
    second = defwatch("feeds")
    assert second.returncode == 0
    assert "0 written, 25 unchanged" in second.stdout


def test_feeds_on_an_empty_store_with_the_defaults(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("feeds")
    assert result.returncode == 0, result.stderr
    for name in ("all.rss", "sources/jdefense.atom", "sources/mod.rss", "ranking/1m.atom", "index.opml"):
        assert (defwatch.cwd / "public" / name).exists()
    parsed = feedparser.parse((defwatch.cwd / "public" / "all.rss").read_bytes())
    assert not parsed.bozo and parsed.entries == []


def test_an_unwritable_feed_folder_is_one_line(defwatch: Defwatch) -> None:
    (defwatch.cwd / "blocker").write_text("a file where the feed folder should be")
    defwatch.write_config('[feeds]\ndir = "blocker/public"\n')
    defwatch.create_store()
    result = defwatch("feeds")
    assert result.returncode == 2
    assert result.stderr.startswith("defwatch: feeds: cannot write to blocker/public")
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_warns_when_its_port_is_not_base_urls(defwatch: Defwatch) -> None:
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = defwatch.popen("serve", "--port", str(port))
    try:
        assert proc.stdout is not None
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    [warning] = [line for line in err.splitlines() if "WARNING" in line]
    assert f"serving on port {port}, but [feeds] base_url is http://localhost:8080/ (port 8080)" in warning


def test_feeds_format_atom_lists_the_atom_files(defwatch: Defwatch) -> None:
    import xml.etree.ElementTree as ET

    defwatch.create_store()
    defwatch.write_config('[feeds]\nbase_url = "https://desk.example.org/feeds/"\n')
    result = defwatch("feeds", "--format", "atom")
    assert result.returncode == 0, result.stderr
    assert "index.opml (ATOM links)" in result.stdout
    root = ET.fromstring((defwatch.cwd / "public" / "index.opml").read_bytes())
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    assert urls[0] == "https://desk.example.org/feeds/all.atom"
    assert all(u.endswith(".atom") for u in urls) and len(urls) == len(set(urls))
