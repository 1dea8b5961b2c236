"""``defwatch serve`` against clients that hold connections: idle connections are closed
after feeds.serve.IDLE_TIMEOUT, connections beyond MAX_CONNECTIONS are answered 503 at once,
and a reader still gets its feed once the idle ones are gone."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from feeds.serve import IDLE_TIMEOUT, MAX_CONNECTIONS
from tests.conftest import Defwatch
from tests.faults.conftest import figure
from tests.feeds.conftest import Server

pytestmark = pytest.mark.timeout(180)


def test_idle_connections_are_closed_and_capped(tmp_path: Path) -> None:
    defwatch = Defwatch(tmp_path)
    defwatch.write_config('[store]\nurl = "sqlite:///defwatch.db"\n[feeds]\ndir = "public"\n')
    (tmp_path / "public").mkdir()
    server = Server(defwatch)
    idle: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        time.sleep(1)  # let the server take them all (each on its thread)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        answer = extra.recv(200)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        extra.close()

        start = time.monotonic()
        closed = 0
        for s in idle:  # each idle connection is closed by the server (recv returns b"")
            try:
                if s.recv(1) == b"":
                    closed += 1
            except OSError:
                closed += 1
        took = time.monotonic() - start
        assert closed == len(idle)
        response, body = server.body("/healthz")  # served again: an answer, not the 503 of a full house
        assert body.startswith(b"{"), (response.status, body)
    finally:
        for s in idle:
            s.close()
        assert server.stop() == 0
    figure(
        f"serve: {MAX_CONNECTIONS} idle connections + 1",
        f"the extra one 503 at once; idle ones closed within {took:.1f} s (idle timeout {IDLE_TIMEOUT:g} s)",
    )
