"""`defwatch check [--connect]`: what the configuration makes defwatch do, and whether
each part answers; secrets never shown."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import Defwatch

SECRET = "T0KEN-not-to-be-shown"


class Endpoint(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_HEAD(self) -> None:
        Endpoint.seen.append(f"HEAD {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        Endpoint.seen.append(f"POST {self.path}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[int]:
    Endpoint.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(defwatch: Defwatch, port: int, extra: str = "", allow: str = "true") -> None:
    (defwatch.cwd / ".env").write_text(f"HOOK_URL=http://127.0.0.1:{port}/hooks/{SECRET}\n")
    defwatch.write_config(
        f"""
        [crawl]
        allow_private = {allow}
        [[sources]]
        name = "local"
        kind = "feed"
        url = "http://127.0.0.1:{port}/feed.xml"
        schedule = "0 6 * * *"
        {extra}
        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        notify = ["hook"]
        [channels.hook]
        type = "webhook"
        url = "${{HOOK_URL}}"
        """
    )


def test_check_with_the_built_in_defaults(defwatch: Defwatch) -> None:
    result = defwatch("check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "configuration: built-in defaults" in out
    assert f"store:         sqlite:///data/defwatch.db ({defwatch.cwd / 'data' / 'defwatch.db'})" in out
    assert "  jdefense: jdefense https://j-defense.ikaros.jp/" in out and "next run 20" in out
    assert "  mod: mod https://www.mod.go.jp/" in out
    assert "rules (0):\n  none" in out and "channels (0):\n  none" in out
    assert not (defwatch.cwd / "data").exists()


def test_check_lists_rules_and_channels_secrets_masked(defwatch: Defwatch, endpoint: int) -> None:
    _config(defwatch, endpoint)
    result = defwatch("check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "configuration: defwatch.toml" in out
    assert "sources (1):\n  local: feed" in out and "schedule '0 6 * * *' (Asia/Tokyo), next run" in out
    assert "  asean: on new, keywords ASEAN, every source: sends to hook" in out
    assert f"  hook: webhook to http://127.0.0.1:{endpoint}/***" in out
    assert SECRET not in out + result.stderr
    assert Endpoint.seen == []  # nothing contacted without --connect


def test_check_connect_tries_each_part_and_sends_nothing(defwatch: Defwatch, endpoint: int) -> None:
    _config(defwatch, endpoint)
    result = defwatch("check", "--connect")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "  ok    store: not created yet: the first crawl creates it" in out
    assert f"  ok    source local: HTTP 200 (http://127.0.0.1:{endpoint}/feed.xml)" in out
    assert f"  ok    channel hook: HTTP 200 to HEAD, nothing sent (http://127.0.0.1:{endpoint}/***)" in out
    assert out.rstrip().endswith("all well")
    assert SECRET not in out + result.stderr
    assert sorted(Endpoint.seen) == sorted(["HEAD /feed.xml", f"HEAD /hooks/{SECRET}"])
    assert not (defwatch.cwd / "data").exists()


def test_check_connect_exits_1_naming_what_failed(defwatch: Defwatch, endpoint: int) -> None:
    closed = _closed_port()
    _config(
        defwatch,
        endpoint,
        f'[[sources]]\nname = "down"\nkind = "feed"\nurl = "http://127.0.0.1:{closed}/f.xml"\n',
    )
    defwatch.create_store()
    result = defwatch("check", "--connect")
    assert result.returncode == 1
    out = result.stdout
    assert "  ok    store: answers, 0 stories, schema current" in out
    assert (
        f"  FAIL  source down: connection refused by 127.0.0.1:{closed} (http://127.0.0.1:{closed}/f.xml)"
        in out
    )
    assert out.rstrip().endswith("1 of 4 failed: source down")


def test_check_connect_names_a_private_address_the_crawl_would_refuse(
    defwatch: Defwatch, endpoint: int
) -> None:
    _config(defwatch, endpoint, allow="false")
    result = defwatch("check", "--connect")
    assert result.returncode == 1
    assert (
        "  FAIL  source local: 127.0.0.1 is a private address, not fetched "
        "([crawl] allow_private = true allows it)" in result.stdout
    )
    assert "HEAD /feed.xml" not in Endpoint.seen


def test_version(defwatch: Defwatch) -> None:
    from importlib.metadata import version

    result = defwatch("--version")
    assert result.returncode == 0
    assert result.stdout == f"defwatch {version('defwatch')}\n"
