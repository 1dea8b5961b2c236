"""``defwatch serve``: the feed folder over HTTP, cheap to poll and safe to expose.

Files are answered with a strong ETag (a hash of the bytes) and Last-Modified (the file's
mtime, which only changes when a build changed the content), 304 to either validator,
gzip when the client accepts it, and nothing outside the folder: any path that is not a
feed file inside it is a 404. ``/healthz`` reports the store and how long ago each source
last crawled successfully, with 503 when the store is unreachable or a source is overdue.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from core.cron import cron_trigger
from core.model import JST

if TYPE_CHECKING:
    from core.config import Config, SourceConfig
    from store.db import Store

__all__ = ["CONTENT_TYPES", "FeedServer", "Health", "overdue_after", "resolve"]

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}
CACHE_CONTROL = "public, max-age=60"


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def resolve(root: Path, target: str) -> Path | None:
    """The feed file a request path names, or None: only .rss, .atom and .opml files
    inside ``root``, no dot-files (temporary files of a build), nothing reached through
    ``..``, encoded separators or a symlink pointing out."""
    path = unquote(urlsplit(target).path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if not parts:
        parts = ["index.opml"]
    if any(p.startswith(".") for p in parts):
        return None
    candidate = root.joinpath(*parts)
    if candidate.suffix not in CONTENT_TYPES:
        return None
    try:
        real = candidate.resolve(strict=True)
        base = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real


@dataclass(frozen=True)
class Representation:
    body: bytes
    gzipped: bytes
    etag: str  # of the identity body, quoted
    modified: int  # mtime, whole seconds
    content_type: str


class FileCache:
    """What was read of each file, until its mtime, size or inode changes (a build
    replaces a file by renaming a new one over it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Path, tuple[tuple[int, int, int], Representation]] = {}

    def get(self, path: Path) -> Representation | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            hit = self._entries.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        try:
            # Read and stat one open file, so the body and its date agree even when a
            # build renames a new version into place meanwhile.
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                body = f.read()
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        rep = Representation(
            body=body,
            gzipped=gzip.compress(body, mtime=0),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            modified=int(st.st_mtime),
            content_type=CONTENT_TYPES[path.suffix],
        )
        with self._lock:
            self._entries[path] = (key, rep)
        return rep


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it)."""
    if not header:
        return False
    star: bool | None = None
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        name = name.strip().lower()
        if name in ("gzip", "x-gzip"):
            return q > 0
        if name == "*":
            star = q > 0
    return bool(star)


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match against our tag, by weak comparison (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def not_modified_since(header: str, modified: int) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified <= since.timestamp()


# --------------------------------------------------------------------------------------
# Health
# --------------------------------------------------------------------------------------


def overdue_after(source: SourceConfig, anchor: datetime, config: Config) -> datetime:
    """When a source whose last success (or, never successful, whose first attempt or our
    start) was at ``anchor`` becomes overdue: once the second scheduled run after it has
    had its whole time to finish (crawl_timeout, plus the scheduler's jitter and misfire
    grace) without a success."""
    trigger = cron_trigger(source.schedule, source.tz)
    after = anchor.astimezone(source.tz) + timedelta(seconds=1)
    first = trigger.get_next_fire_time(None, after)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    if second is None:  # a schedule that never fires again
        return datetime.max.replace(tzinfo=UTC)
    sched = config.scheduler
    return second + timedelta(seconds=sched.crawl_timeout + sched.jitter + sched.misfire_grace)


class Health:
    """The /healthz answer. The store is opened on first use and reopened after a failure,
    so the server starts (and says what is wrong) even when the store cannot be opened."""

    def __init__(self, config: Config, started: datetime | None = None) -> None:
        self.config = config
        self.started = started or datetime.now(UTC)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def _open(self) -> Store:
        from store import Store

        with self._lock:
            if self._store is None:
                self._store = Store.open(self.config.store.url, create=False)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def report(self, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        from sqlalchemy.exc import SQLAlchemyError

        from store import StoreError
        from store.feeds import first_run_started

        now = now or datetime.now(UTC)
        doc: dict[str, Any] = {
            "ok": True,
            "checked": now.astimezone(JST).isoformat(),
            "store": {},
            "sources": {},
        }
        try:
            store = self._open()
            if not store.ping():
                raise StoreError("store: not answering")
            successes = store.last_success()
            with store.engine.connect() as conn:
                attempts = first_run_started(conn)
        except (StoreError, SQLAlchemyError) as exc:
            self.close()
            doc["ok"] = False
            doc["store"] = {"reachable": False, "error": str(exc).splitlines()[0]}
            return HTTPStatus.SERVICE_UNAVAILABLE, doc
        doc["store"] = {"reachable": True}
        for source in self.config.sources:
            doc["sources"][source.name] = self._source(source, successes.get(source.name), attempts, now)
            if doc["sources"][source.name]["overdue"]:
                doc["ok"] = False
        return (HTTPStatus.OK if doc["ok"] else HTTPStatus.SERVICE_UNAVAILABLE), doc

    def _source(
        self, source: SourceConfig, success: datetime | None, attempts: dict[str, datetime], now: datetime
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "schedule": source.schedule,
            "enabled": source.enabled,
            "last_success": success.astimezone(source.tz).isoformat() if success else None,
            "age_seconds": round((now - success).total_seconds(), 1) if success else None,
            "overdue": False,
            "overdue_after": None,
        }
        if not source.enabled:
            return entry
        # Never successful: count from its first attempt, else from when we started.
        anchor = success or attempts.get(source.name) or self.started
        deadline = overdue_after(source, anchor, self.config)
        if deadline.year < 9999:
            entry["overdue_after"] = deadline.astimezone(source.tz).isoformat()
        entry["overdue"] = now > deadline
        return entry


# --------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------


# What one client can hold: a connection idle this long is closed, and beyond this many open
# connections a new one is answered 503 at once (each connection is a thread). The listen
# backlog holds a burst of new connections while the threads take them.
IDLE_TIMEOUT = 10.0  # seconds without a byte from the client
MAX_CONNECTIONS = 256
LISTEN_BACKLOG = 128
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def __init__(
        self, address: tuple[str, int], root: Path, health: Health, app: WSGIApp | None = None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.root = root
        self.health = health
        self.app = app  # the web page (web.create_app): every path that is not a feed file
        self.files = FileCache()
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, FeedHandler)


class FeedHandler(BaseHTTPRequestHandler):
    server: FeedServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # socket timeout: an idle (or slow-loris) connection is closed
    # Answers go out at once: with Nagle's algorithm a keep-alive client's delayed ACK held
    # each answer about 40 ms (a 3 ms page took 44 ms of wall time in bench/web.py).
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "defwatch"

    def do_GET(self) -> None:
        self.answer(head=False)

    def do_HEAD(self) -> None:
        self.answer(head=True)

    def answer(self, head: bool) -> None:
        target = urlsplit(self.path).path
        if target == "/healthz":
            status, doc = self.server.health.report()
            body = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
            self.send(status, body, {"Content-Type": "application/json", "Cache-Control": "no-store"}, head)
            return
        app = self.server.app
        if app is not None and target == "/" and wants_html(self.headers.get("Accept")):
            self.web(app, head)  # a browser at / gets the page; a feed reader the OPML
            return
        path = resolve(self.server.root, self.path)
        rep = self.server.files.get(path) if path is not None else None
        if rep is None and app is not None:
            self.web(app, head)
            return
        if rep is None:
            self.send(
                HTTPStatus.NOT_FOUND, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"}, head
            )
            return
        zipped = accepts_gzip(self.headers.get("Accept-Encoding"))
        headers = {
            "Content-Type": rep.content_type,
            "ETag": "W/" + rep.etag if zipped else rep.etag,
            "Last-Modified": formatdate(rep.modified, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if self.not_modified(rep):
            self.send(HTTPStatus.NOT_MODIFIED, b"", headers, head=True)
            return
        if zipped:
            headers["Content-Encoding"] = "gzip"
        self.send(HTTPStatus.OK, rep.gzipped if zipped else rep.body, headers, head)

    def web(self, app: WSGIApp, head: bool) -> None:
        """Answer through the WSGI app: its status, headers and body (gzipped when the
        client accepts it), with this server's framing."""
        status, headers, body = call_wsgi(app, self.wsgi_environ(head))
        if accepts_gzip(self.headers.get("Accept-Encoding")) and len(body) > 1024 and status == 200:
            body = gzip.compress(body, compresslevel=5, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        self.send(status, body, headers, head)

    def wsgi_environ(self, head: bool) -> dict[str, Any]:
        parts = urlsplit(self.path)
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "HEAD" if head else "GET",
            "SCRIPT_NAME": "",
            # PEP 3333: the path's bytes, undecoded, as latin-1 (the framework decodes UTF-8).
            "PATH_INFO": unquote_to_bytes(parts.path).decode("latin-1"),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": "0",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"):
                environ[key] = value if key not in environ else environ[key] + "," + value
        return environ

    def not_modified(self, rep: Representation) -> bool:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag_matches(inm, rep.etag)
        ims = self.headers.get("If-Modified-Since")
        return ims is not None and not_modified_since(ims, rep.modified)

    def send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def wants_html(accept: str | None) -> bool:
    """Whether an Accept header asks for a page (a browser) rather than anything (a feed reader)."""
    return bool(accept) and any(
        item.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
        for item in (accept or "").split(",")
    )


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Run a WSGI app for one request: (status, headers, whole body)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, header_list = started
    headers = {k: v for k, v in header_list if k.lower() not in ("content-length", "connection")}
    return int(status.split()[0]), headers, b"".join(chunks)


def serve(config: Config, host: str, port: int, ready: Any = None, app: WSGIApp | None = None) -> int:
    """Serve ``config.feeds.dir`` (and ``app``, the web page, for every other path) until
    SIGTERM or Ctrl-C; 0 when stopped that way."""
    root = Path(config.feeds.dir)
    health = Health(config)
    server = FeedServer((host, port), root, health, app)

    def stop(_signum: int, _frame: Any) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run in the thread
        # that is serving; a helper thread asks, and serve_forever returns normally.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous_term = signal.signal(signal.SIGTERM, stop)
    previous_int = signal.signal(signal.SIGINT, stop)
    shown = f"[{host}]" if ":" in host else host
    try:
        if ready is not None:  # only once SIGTERM stops us cleanly
            page = "web page: /, " if app is not None else ""
            ready(f"serving {root}/ at http://{shown}:{server.server_port}/ ({page}health: /healthz)")
        server.serve_forever()
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
        server.server_close()
        health.close()
    return 0
