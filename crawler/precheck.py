"""Feeds asked whether they changed before any crawl starts (issue 17).

An unchanged feed is one conditional GET answered 304. A crawl process costs far more than
that to start (Scrapy, Twisted and their imports, the reactor, the crawler: about 0.4 CPU-s),
so ``run --once`` (before it forks its crawl process) and the daemon's crawl processes
(before they start Scrapy's crawl) first ask the cycle's feeds here, with the standard
library's HTTP client, sending the validators (ETag, Last-Modified) their last answer gave:

- **304 Not Modified:** the source's run is recorded here, as its crawl would have recorded
  it (``ok``, one request, ``not_modified`` and ``http_status_304`` in its stats). A cycle
  in which every feed answers 304 starts no crawl process (``run --once``), or no Scrapy
  crawl in it (the daemon's).
- **Any other whole answer** (a 200 with new items, a redirect, a 404, a 500): kept in a
  folder handed to the crawl process, where :class:`crawler.middlewares.PrefetchedMiddleware`
  gives it to Scrapy instead of downloading it again. The spider, Scrapy's redirects,
  retries, decompression and error handling see it as any answer: still one request a feed.
- **No answer** (refused, reset, timed out, a TLS error), an answer larger than the source's
  limit, or the check's own time used up (:data:`BUDGET`): the source is crawled as it would
  be without this check (Scrapy asks again, with its own timeout and retries). A host whose
  last answer (as the crawl measured it) says its feeds would not be answered in half the
  budget is left to the crawl from the start, so a slow feed is not asked twice a cycle.

A feed is asked here only when its crawl would ask the same way and be allowed to: a ``feed``
source whose crawl is that one request (no ``fetch_articles``), over http or https without a
proxy, whose validators are known, whose robots.txt is in the host cache and allows it
(when ``obey_robots``), and whose host resolves to public addresses only (unless
``allow_private`` names it); the connection goes to the address that was checked. The same
headers as the crawl's (user agent, Accept, Accept-Language, Accept-Encoding) and no more
requests to a host at once than the crawl would make (each feed its own download slot
there), at most :data:`MAX_THREADS` in all, one after the other on kept-alive connections,
``download_delay`` between two on one connection. ``[crawl] precheck =
false`` turns this off; with Scrapyd nodes (``[crawl] scrapyd``) it is off, since the crawls
run there.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.config import Config, SourceConfig
from core.model import Outcome, RunResult
from crawler.hostcache import HostCache, cache_path
from crawler.netpolicy import is_public, private_allowed

if TYPE_CHECKING:
    from store import Store

log = logging.getLogger(__name__)

BUDGET = 10.0  # seconds the whole check may take; feeds not answered by then are crawled
MAX_THREADS = 16  # requests at once
PREFETCHED_ENV = "DEFWATCH_PREFETCHED"  # the folder of answers, for the crawl process
PRECHECK_ENV = "DEFWATCH_PRECHECK"  # "1": the crawl process checks its feeds itself (the daemon's)
# Scrapy's DEFAULT_REQUEST_HEADERS, and the encodings its HttpCompressionMiddleware decodes
# everywhere (the answer is handed over still encoded, and Scrapy decodes it)
HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}
NOT_MODIFIED_STATS = {"not_modified": 1, "http_status_304": 1, "unchanged": 0, "completed": 0}


def one_request(source: SourceConfig) -> bool:
    """Whether a source's crawl is one listing request, read at once (a ``feed`` that does
    not fetch its articles' pages): it can be asked here, and it can share a crawler with
    others (crawler.batch)."""
    return source.kind == "feed" and not getattr(source.options, "fetch_articles", False)


@dataclass
class Checked:
    """What the check found: the runs it recorded (sources that answered 304), the folder of
    answers for the crawl (None when there is none), and counts for the log line."""

    recorded: dict[str, RunResult] = field(default_factory=dict)
    folder: Path | None = None
    asked: int = 0
    handed: int = 0
    seconds: float = 0.0

    def env(self) -> dict[str, str]:
        """What the crawl process needs to find the answers kept for it."""
        return {PREFETCHED_ENV: str(self.folder)} if self.folder is not None else {}

    def clean(self) -> None:
        """The crawl is over: answers it did not take are dropped."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


@dataclass
class _Ask:
    source: str
    url: str
    host: str
    port: int
    private_ok: bool  # [crawl] allow_private lets this host be private
    headers: dict[str, str]
    limit: int
    address: str | None = None  # what the host resolved to, checked
    answer: tuple[int, str, list[tuple[str, str]], bytes, float] | None = None


def _resolve(a: _Ask) -> str | None:
    """The address to connect to, or None when the crawl is to have the feed: the host
    does not resolve, or resolves to a private address ``allow_private`` does not allow
    (the crawl refuses it and says why)."""
    try:
        infos = socket.getaddrinfo(a.host, a.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not (a.private_ok or all(is_public(x) for x in addresses)):
        return None
    return addresses[0]


def enabled(config: Config) -> bool:
    return config.crawl.precheck and not config.crawl.scrapyd


def check(
    config: Config,
    store: Store,
    sources: list[SourceConfig],
    stopping: Callable[[], bool] = lambda: False,
) -> Checked:
    """Ask the feeds of ``sources`` that can be asked; record the runs of those unchanged.

    Its threads end before it returns (``run --once`` forks its crawl child afterwards,
    with no other thread alive). A long-lived process does not call it: threads started
    and ended there every cycle leave memory behind (the daemon's crawl processes call it)."""
    done = Checked()
    if not enabled(config):
        return done
    candidates = [s for s in sources if one_request(s)]
    if not candidates:
        return done
    clock, started = time.monotonic(), datetime.now(UTC)
    validators = store.http_states([s.url for s in candidates])
    candidates = [s for s in candidates if s.url in validators]
    if not candidates:
        return done
    # A cache of its own, read only: the daemon may check two batches at once, and a crawl
    # process of another batch may be writing the file (crawler.hostcache)
    hosts = HostCache()
    hosts.load(cache_path(config.store.url))
    robots = _Robots(hosts, config.crawl.user_agent)
    asks = [a for a in (_ask(config, s, validators[s.url], robots) for s in candidates) if a is not None]
    if not asks:
        return done
    _fetch_all(config, asks, hosts, clock + BUDGET, stopping)
    done.asked = sum(1 for a in asks if a.answer is not None)
    unchanged = [a for a in asks if a.answer is not None and a.answer[0] == 304]
    runs = [RunResult(a.source, Outcome.OK, requests=1, stats=dict(NOT_MODIFIED_STATS)) for a in unchanged]
    done.recorded = {r.source: r for r in store.record_runs(runs, started)}
    others = [a for a in asks if a.answer is not None and a.answer[0] != 304]
    if others:
        done.folder = Path(tempfile.mkdtemp(prefix="defwatch-prefetched-"))
        for a in others:
            _keep(done.folder, a)
        done.handed = len(others)
    done.seconds = time.monotonic() - clock
    return done


def _ask(
    config: Config, source: SourceConfig, validators: tuple[str | None, str | None], robots: _Robots
) -> _Ask | None:
    """The request for a source's feed, or None when it is left to the crawl."""
    parts = urlsplit(source.url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    if any(os.environ.get(k) for k in (f"{parts.scheme}_proxy", f"{parts.scheme.upper()}_PROXY")):
        return None  # the crawl goes through the proxy (Scrapy's HttpProxyMiddleware)
    crawl = config.crawl
    if crawl.obey_robots and not robots.allow(parts.netloc, source.url):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    private_ok = private_allowed(crawl.allow_private, host, port)
    etag, last_modified = validators
    headers = {"User-Agent": crawl.user_agent, **HEADERS}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limit = source.options.max_response_size or crawl.max_response_size
    return _Ask(source.name, source.url, host, port, private_ok, headers, limit)


class _Robots:
    """The robots.txt of each host as the crawl would read it: cached and fresh, parsed
    once a host."""

    def __init__(self, hosts: HostCache, user_agent: str) -> None:
        self.hosts = hosts
        self.user_agent = user_agent
        self.parsed: dict[str, Any] = {}

    def allow(self, netloc: str, url: str) -> bool:
        """Whether the crawl may fetch ``url`` (robots.txt not cached: the crawl asks for
        it, so the feed is left to the crawl)."""
        if netloc not in self.parsed:
            body = self.hosts.robots(netloc)
            if body is None:
                return False
            from protego import Protego  # what Scrapy's ROBOTSTXT_PARSER reads it with

            self.parsed[netloc] = Protego.parse(body.decode("utf-8", errors="ignore"))
        return bool(self.parsed[netloc].can_fetch(url, self.user_agent))


def _lanes(asks: list[_Ask], hosts: HostCache, delay: float) -> list[list[_Ask]]:
    """The asks grouped into lanes, each asked one after the other on one connection: no
    more lanes to a host than the crawl would ask at once (each feed its own download slot,
    of at least one request: crawler.batch), and no more than MAX_THREADS in all. Of a lane
    to a host whose last answer (its latency in the host cache, as the crawl last measured
    it) says the lane would outlast half the budget, only what fits is asked here: the rest
    is left to the crawl, which would otherwise ask a feed cut off at the budget a second
    time, every cycle (a feed answering after 59 s)."""
    by_host: dict[tuple[str, str], list[_Ask]] = defaultdict(list)
    for a in asks:
        parts = urlsplit(a.url)
        by_host[(parts.scheme, parts.netloc)].append(a)
    lanes: list[list[_Ask]] = []
    for (_, netloc), group in by_host.items():
        n = min(len(group), MAX_THREADS)
        latency = hosts.latency(netloc)
        each = (latency or 0.0) + delay
        fits = len(group) if latency is None or each <= 0 else int((BUDGET / 2 + delay) // each)
        lanes += [lane for lane in (group[i::n][:fits] for i in range(n)) if lane]
    return lanes


def _fetch_all(
    config: Config, asks: list[_Ask], hosts: HostCache, deadline: float, stopping: Callable[[], bool]
) -> None:
    lanes = _lanes(asks, hosts, config.crawl.download_delay)
    if not lanes:
        return
    args = (config.crawl.timeout, config.crawl.download_delay, deadline, stopping)
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(lanes)), thread_name_prefix="precheck") as own:
        for lane in lanes:
            own.submit(_lane, lane, *args)


def _lane(
    lane: list[_Ask], timeout: float, delay: float, deadline: float, stopping: Callable[[], bool]
) -> None:
    """One host's feeds, one after the other on one kept-alive connection."""
    conn: http.client.HTTPConnection | None = None
    address = _resolve(lane[0])  # one host
    if address is None:
        return
    try:
        for i, a in enumerate(lane):
            a.address = address
            if i and delay:
                time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            left = deadline - time.monotonic()
            if left <= 0 or stopping():
                return
            reused = conn is not None
            try:
                conn = conn or _connect(a, min(timeout, left))
                a.answer = _get(conn, a, min(timeout, left))
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                if not reused or time.monotonic() >= deadline:
                    log.debug("precheck %s: %s: %s (left to the crawl)", a.source, type(exc).__name__, exc)
                    continue
                try:  # a kept-alive connection the server had closed: once more, afresh
                    conn = _connect(a, min(timeout, deadline - time.monotonic()))
                    a.answer = _get(conn, a, min(timeout, deadline - time.monotonic()))
                except (OSError, http.client.HTTPException, ValueError) as again:
                    log.debug("precheck %s: %s (left to the crawl)", a.source, again)
                    if conn is not None:
                        conn.close()
                    conn = None
                    continue
            if a.answer is None and conn is not None:  # too large: the connection is mid-body
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()


class _Pinned(http.client.HTTPConnection):
    """A connection to the address that was checked, not to whatever the name resolves to
    a moment later (crawler.addresses: DNS rebinding)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTLS(_Pinned):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        import ssl

        super().connect()
        # as Scrapy's default context factory: the certificate is not verified
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def _connect(a: _Ask, timeout: float) -> http.client.HTTPConnection:
    assert a.address is not None
    cls = _PinnedTLS if a.url.startswith("https:") else _Pinned
    return cls(a.host, a.port, a.address, timeout)


def _get(
    conn: http.client.HTTPConnection, a: _Ask, timeout: float
) -> tuple[int, str, list[tuple[str, str]], bytes, float] | None:
    """The whole answer: status, reason, headers, body (still encoded) and latency; None
    when the body outgrows the source's limit."""
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    parts = urlsplit(a.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    conn.request("GET", path, headers=a.headers)
    response = conn.getresponse()
    latency = time.monotonic() - started
    body = response.read(a.limit + 1)
    if len(body) > a.limit:
        return None
    if not response.isclosed():
        response.read()  # nothing left: the connection is ready for the next request
    return response.status, response.reason, list(response.getheaders()), body, latency


# -- the answers handed to the crawl -----------------------------------------------------------


def _name(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


def _keep(folder: Path, a: _Ask) -> None:
    assert a.answer is not None
    status, reason, headers, body, latency = a.answer
    name = _name(a.url)
    (folder / f"{name}.body").write_bytes(body)
    meta = {"url": a.url, "status": status, "reason": reason, "headers": headers, "latency": latency}
    (folder / f"{name}.json").write_text(json.dumps(meta), encoding="utf-8")


def take(folder: str, url: str) -> tuple[int, list[tuple[str, str]], bytes, float] | None:
    """The answer kept for ``url`` (status, headers, body, latency), once: it is removed
    as it is taken, so a retry or a second request for it goes to the site."""
    base = Path(folder) / _name(url)
    try:
        meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        body = base.with_suffix(".body").read_bytes()
    except (OSError, ValueError):
        return None
    for suffix in (".json", ".body"):
        base.with_suffix(suffix).unlink(missing_ok=True)
    if meta.get("url") != url:
        return None
    headers = [(str(k), str(v)) for k, v in meta["headers"]]
    return int(meta["status"]), headers, body, float(meta.get("latency") or 0.0)


def summary(done: Checked, total: int) -> str:
    """The check in one log line."""
    return (
        f"precheck: {len(done.recorded)} of {total} sources unchanged (304), "
        f"{done.handed} answers handed to the crawl, {done.seconds:.1f}s"
    )
