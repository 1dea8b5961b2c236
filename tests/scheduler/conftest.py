"""What the scheduler's tests crawl: the ministry's imitation, a site that accepts and never
answers, and an address where nothing listens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from imitations.mod import ModSite
from imitations.server import SiteServer


@pytest.fixture
def mod_site() -> Iterator[SiteServer]:
    with SiteServer({"mod": ModSite()}) as server:
        yield server


@dataclass
class HangingServer:
    """Accepts connections and never answers: a crawl against it waits until killed."""

    sock: socket.socket = field(default_factory=socket.socket)
    connections: list[socket.socket] = field(default_factory=list)

    def start(self) -> HangingServer:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer().start()
    yield server
    server.close()


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"
