"""One local server for the imitation sites: each site on its own 127.0.0.1 port.

A site is a WSGI application object with an ``epoch`` attribute (an int, 0 at start) that
the tests move forward to make the site change in time. The server records every request
it answers so tests can count what a crawl asked for.

Control over HTTP (for subprocesses such as the daemon or the demo):
``GET /_control/epoch?n=2`` on any site's port sets that site's epoch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Hit:
    site: str
    method: str
    path: str  # path plus query string, as requested
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 overflows under Scrapy: 1 s stalls


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer:
    """Serve several imitation sites, one port each, from background threads."""

    def __init__(self, sites: dict[str, Any], host: str = "127.0.0.1") -> None:
        self.sites = sites
        self.host = host
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._servers: dict[str, WSGIServer] = {}
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> SiteServer:
        for name, site in self.sites.items():
            server = make_server(
                self.host,
                0,
                self._wrap(name, site),
                server_class=_ThreadingWSGIServer,
                handler_class=_QuietHandler,
            )
            self._servers[name] = server
            thread = threading.Thread(target=server.serve_forever, name=f"site-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------------
    def url(self, site: str, path: str = "/") -> str:
        port = self._servers[site].server_address[1]
        return f"http://{self.host}:{port}{path}"

    def set_epoch(self, n: int, site: str | None = None) -> None:
        for name, s in self.sites.items():
            if site is None or name == site:
                s.epoch = n

    def hits_for(self, site: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.site == site]

    def clear_hits(self) -> None:
        with self._lock:
            self.hits.clear()

    # -- internals -------------------------------------------------------------------
    def _wrap(self, name: str, site: Any) -> WSGIApp:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "/")
            query = environ.get("QUERY_STRING", "")
            if path == "/_control/epoch":
                n = int(parse_qs(query).get("n", ["0"])[0])
                site.epoch = n
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [f"epoch={n}\n".encode()]
            captured: dict[str, int] = {}

            def recording_start_response(status: str, headers: list[tuple[str, str]], *a: Any) -> Any:
                captured["status"] = int(status.split()[0])
                return start_response(status, headers, *a)

            body = site(environ, recording_start_response)
            request_headers = {
                k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
            }
            with self._lock:
                self.hits.append(
                    Hit(
                        site=name,
                        method=environ.get("REQUEST_METHOD", "GET"),
                        path=path + (f"?{query}" if query else ""),
                        status=captured.get("status", 0),
                        headers=request_headers,
                    )
                )
            return body

        return app
