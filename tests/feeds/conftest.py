"""Fixtures of the feed tests: the configuration, a filled store, the built folder, and
``defwatch serve`` running as a subprocess."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from core.config import Config
from feeds.build import build_all
from store import Store
from tests.conftest import Defwatch
from tests.feeds.data import Stored, fill, make_config


class Site:
    """A configuration, its store filled with the test stories, and its feed folder."""

    def __init__(self, folder: Path, max_items: int = 100) -> None:
        self.config: Config = make_config(folder, max_items=max_items)
        self.store = Store.open(self.config.store.url)
        self.stored: Stored = fill(self.store)
        self.public = Path(self.config.feeds.dir)

    def build(self) -> None:
        build_all(self.config, self.store)

    def parse(self, name: str) -> feedparser.FeedParserDict:
        """A built file as a feed reader reads it; a file it finds malformed fails the test."""
        parsed = feedparser.parse((self.public / name).read_bytes())
        assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
        return parsed

    def entry(self, name: str, link: str) -> feedparser.FeedParserDict:
        [found] = [e for e in self.parse(name).entries if e.link == link]
        return found


class Server:
    """A running ``defwatch serve --port 0`` and the port it chose."""

    def __init__(self, defwatch: Defwatch) -> None:
        self.proc = defwatch.popen("serve", "--port", "0")
        self.banner = self._first_line()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", self.banner)
        if found is None:
            self.proc.kill()
            raise AssertionError(f"no address in {self.banner!r}")
        self.port = int(found.group(1))

    def _first_line(self) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        if not found or not found[0]:
            self.proc.kill()
            raise AssertionError(
                f"serve did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        return found[0].strip()

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        response.read()  # keeps the body on the response object (.body below)
        return response

    def body(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    s.build()
    yield s
    s.store.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One built site shared by the tests of a module that only read it."""
    s = Site(tmp_path_factory.mktemp("feeds"))
    s.build()
    yield s
    s.store.close()
