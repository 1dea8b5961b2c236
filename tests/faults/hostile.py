"""A hostile source on 127.0.0.1: every way a feed can attack or break a crawler, one path
each, written straight to the socket (so a response can stop half-way, trickle, reset or
never end).

``HostileServer().start()`` serves in background threads; ``hits`` counts requests by path
and ``sent`` the body bytes each path wrote.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

Handler = Callable[["_Request", socket.socket], None]


DATE = "Thu, 13 Feb 2025 10:00:00 +0900"


def rss(items: list[tuple[str, ...]], *, head: str = "") -> bytes:
    """An RSS 2.0 feed of (title, link[, pubDate]) items; ``head`` goes before ``<rss>``."""
    body = "".join(
        f"<item><title>{i[0]}</title><link>{i[1]}</link><pubDate>{i[2] if len(i) > 2 else DATE}</pubDate>"
        f"<description>{i[0]}</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"><channel><title>hostile</title>'
        f"<link>http://example.org/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def pdf_bomb(size: int) -> bytes:
    """A one-page PDF whose content stream is ``size`` bytes of text operators, deflated to
    about 1/300 of that: small to download, long to parse."""
    import zlib

    unit = b"BT /F1 12 Tf 72 700 Td (A) Tj ET\n"
    block = unit * (1024 * 1024 // len(unit))
    deflate = zlib.compressobj(9)
    stream = b"".join(
        [deflate.compress(block) for _ in range(max(1, size // len(block)))] + [deflate.flush()]
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def items(path: str, n: int = 3, origin: str = "{origin}") -> list[tuple[str, str]]:
    name = path.strip("/").replace("/", "-").replace(".xml", "")
    return [(f"{name} story {i}", f"{origin}/story/{name}/{i}") for i in range(n)]


class _Request:
    def __init__(self, method: str, path: str, headers: dict[str, str]) -> None:
        self.method, self.path, self.headers = method, path, headers


class HostileServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.routes: dict[str, Handler] = {}
        self.stop_event = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> HostileServer:
        outer = self

        class Handle(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self._server = Server(("127.0.0.1", 0), Handle)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    # -- serving --------------------------------------------------------------------------
    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _ = (head[0].split(" ") + ["", ""])[:3]
        headers = {}
        for line in head[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        path = target.split("?", 1)[0]
        # Read a request's body (a webhook's POST): closing on unread bytes would reset the
        # connection before the client read the answer.
        body = data.split(b"\r\n\r\n", 1)[1]
        try:
            while len(body) < int(headers.get("content-length") or 0):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        except (OSError, ValueError):
            return
        self.hits[path] += 1
        req = _Request(method, path, headers)
        handler = self.routes.get(path)
        try:
            if handler is None and path.startswith("/story/"):
                self.page(sock, req, 200, _article(path))
            elif handler is None:
                self.page(sock, req, 404, b"not found")
            else:
                handler(req, sock)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def page(
        self,
        sock: socket.socket,
        req: _Request,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        extra: dict[str, str] | None = None,
    ) -> None:
        body = body.replace(b"{origin}", self.origin.encode())
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
        lines.append("Connection: close")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.sent[req.path] += len(body)

    # -- route makers ---------------------------------------------------------------------
    def static(self, path: str, body: bytes, content_type: str = "application/rss+xml", **extra: str) -> str:
        def handler(req: _Request, sock: socket.socket) -> None:
            self.page(sock, req, 200, body, content_type, {k.replace("_", "-"): v for k, v in extra.items()})

        self.routes[path] = handler
        return self.url(path)

    def status(self, path: str, status: int, headers: dict[str, str] | None = None) -> str:
        def handler(req: _Request, sock: socket.socket) -> None:
            self.page(sock, req, status, b"no", "text/plain", headers)

        self.routes[path] = handler
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        return self.status(path, 302, {"Location": location})

    def gzip_bomb(self, path: str, size: int) -> str:
        """A body of ``size`` zero bytes, gzip-compressed (about 1000:1)."""
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as f:
            block = b"\0" * (1024 * 1024)
            for _ in range(size // len(block)):
                f.write(block)
        compressed = buf.getvalue()

        def handler(req: _Request, sock: socket.socket) -> None:
            self.page(sock, req, 200, compressed, "application/rss+xml", {"Content-Encoding": "gzip"})

        self.routes[path] = handler
        return self.url(path)

    def endless(self, path: str) -> str:
        """Headers, then an XML body that never ends (chunked, as fast as it is read)."""

        def handler(req: _Request, sock: socket.socket) -> None:
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"<!-- " + b"x" * 65000 + b" -->"
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            while not self.stop_event.is_set():
                sock.sendall(framed)
                self.sent[req.path] += len(chunk)

        self.routes[path] = handler
        return self.url(path)

    def trickle(self, path: str, every: float = 0.5) -> str:
        """Slow-loris: headers, then one byte every ``every`` seconds, for ever."""

        def handler(req: _Request, sock: socket.socket) -> None:
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n"
            )
            while not self.stop_event.wait(every):
                sock.sendall(b"<")
                self.sent[req.path] += 1

        self.routes[path] = handler
        return self.url(path)

    def reset(self, path: str) -> str:
        """Half the headers, then a TCP reset."""

        def handler(req: _Request, sock: socket.socket) -> None:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

        self.routes[path] = handler
        return self.url(path)

    def hang(self, path: str) -> str:
        """Takes the request, never answers."""

        def handler(req: _Request, sock: socket.socket) -> None:
            self.stop_event.wait()

        self.routes[path] = handler
        return self.url(path)

    def late(self, path: str, after: float) -> str:
        """Answers 200, ``after`` seconds late."""

        def handler(req: _Request, sock: socket.socket) -> None:
            if not self.stop_event.wait(after):
                self.page(sock, req, 200, b"ok", "text/plain")

        self.routes[path] = handler
        return self.url(path)

    def custom(self, path: str, fn: Callable[[Any, socket.socket], None]) -> str:
        self.routes[path] = fn
        return self.url(path)


def _article(path: str) -> bytes:
    words = " ".join(["The ministry announced a new procurement plan for the coming year."] * 8)
    title = path.rsplit("/", 2)[-2] + " " + path.rsplit("/", 1)[-1]
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{words}</p><p>{words}</p></article></body></html>"
    ).encode()


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
