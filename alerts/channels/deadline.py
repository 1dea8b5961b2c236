"""A total deadline on one delivery attempt: connect, send and read together.

A socket timeout bounds each read, not the exchange: a receiver that answers its headers and
then one byte every few seconds never trips it. Here a watchdog thread shuts the socket down
when the attempt's time is up (or when the process is stopping), which ends any blocking
call on it at once; the attempt then fails as a timeout, like any other.

``post`` is the HTTP client the webhook and Slack channels use (http.client, one connection
per attempt, redirects never followed, at most ``ANSWER_READ_LIMIT`` bytes of the answer read).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["STOPPING", "AttemptTimeout", "HttpAnswer", "post", "watch"]

ANSWER_READ_LIMIT = 64 * 1024

# Set when the process is stopping (SIGTERM): every attempt in flight is cut at once.
STOPPING = threading.Event()


class AttemptTimeout(TimeoutError):
    """The attempt did not complete within its total deadline (or the process is stopping)."""


class _Watch:
    def __init__(self, seconds: float, sock: Callable[[], socket.socket | None]) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self._sock = sock
        self._done = threading.Event()
        self.fired: str | None = None  # "deadline" | "stopping"
        self._thread = threading.Thread(target=self._run, name="alerts-deadline", daemon=True)

    def left(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def _run(self) -> None:
        while not self._done.is_set():
            left = self.deadline - time.monotonic()
            if STOPPING.is_set():
                self._cut("stopping")
                return
            if left <= 0:
                self._cut("deadline")
                return
            self._done.wait(min(left, 0.1))

    def _cut(self, why: str) -> None:
        self.fired = why
        sock = self._sock()
        if sock is not None:
            # socket.socket's own shutdown, also for an SSL socket: it wakes a blocked
            # recv/send in another thread without touching the TLS state.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def error(self) -> AttemptTimeout:
        if self.fired == "stopping":
            return AttemptTimeout("stopped: defwatch is shutting down")
        return AttemptTimeout(f"no complete answer within {self.seconds:g}s (total deadline of the attempt)")


@contextmanager
def watch(seconds: float, sock: Callable[[], socket.socket | None]) -> Iterator[_Watch]:
    """Within the block, ``sock()`` (re-read each time, since it exists only once connected)
    is shut down at the deadline. An exception raised because of that becomes
    ``AttemptTimeout``."""
    w = _Watch(seconds, sock)
    w._thread.start()
    try:
        yield w
    except (OSError, http.client.HTTPException) as exc:
        if w.fired:
            raise w.error() from exc
        raise
    finally:
        w._done.set()
    if w.fired:
        raise w.error()


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    reason: str
    headers: dict[str, str]
    text: str


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpAnswer:
    """POST ``body`` and read the answer, all within ``timeout`` seconds."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the URL must be http:// or https://")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        with watch(timeout, lambda: conn.sock) as w:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(w.left())
            conn.request("POST", target, body=body, headers={**headers, "Connection": "close"})
            response = conn.getresponse()
            data = response.read(ANSWER_READ_LIMIT)
            answer = HttpAnswer(
                response.status,
                response.reason or "",
                {k.lower(): v for k, v in response.getheaders()},
                data.decode("utf-8", "replace"),
            )
    finally:
        conn.close()
    return answer
