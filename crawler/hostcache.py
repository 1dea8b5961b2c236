"""What a crawl remembers about each host from one cycle to the next: its robots.txt (as long
as its HTTP caching allows, at most 24 hours, RFC 9309 section 2.4) and the latency of its
last answer (AutoThrottle's first delay to it).

One cache per crawl process (:data:`HOSTS`), shared by every spider of the cycle, so the
sources of one host ask for robots.txt once between them; kept in a JSON file beside the
store (``data/defwatch.db.hosts.json`` for ``sqlite:///data/defwatch.db``), read when a crawl
starts and written when it ends. Crawls of one store never run at once (the store's lock),
so the file has one writer; a file that cannot be read is ignored (robots.txt is asked again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_AGE = 24 * 3600.0  # RFC 9309: a cached robots.txt is not used for more than 24 hours
LATENCY_KEPT = 7 * 24 * 3600.0  # a host's latency older than this is forgotten


def cache_path(store_url: str) -> Path | None:
    """Beside the SQLite file; for another database, in the working directory; None for a
    store in memory."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(store_url)
    except ArgumentError:
        return None
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        db = Path(str(url.database))
        return db.with_name(db.name + ".hosts.json")
    digest = hashlib.sha256(store_url.encode("utf-8")).hexdigest()[:16]
    return Path(f".defwatch-{digest}.hosts.json")


def freshness(headers: dict[str, str], now: float) -> float:
    """Seconds a robots.txt answer may be reused: its Cache-Control max-age (or Expires),
    at most 24 hours; 0 for no-store / no-cache."""
    control = headers.get("cache-control", "").lower()
    if "no-store" in control or "no-cache" in control:
        return 0.0
    m = re.search(r"max-age\s*=\s*(\d+)", control)
    if m:
        return min(MAX_AGE, float(m.group(1)))
    expires = headers.get("expires")
    if expires:
        try:
            return max(0.0, min(MAX_AGE, parsedate_to_datetime(expires).timestamp() - now))
        except (TypeError, ValueError, OverflowError):
            return 0.0  # an invalid Expires means already expired (RFC 9111)
    return MAX_AGE


class HostCache:
    def __init__(self) -> None:
        self.path: Path | None = None
        self.hosts: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, asyncio.Future[None]] = {}
        self.dirty = False

    def load(self, path: Path | None) -> None:
        """Start a crawl: what the last one remembered (nothing for a store in memory)."""
        self.path, self.hosts, self.pending, self.dirty = path, {}, {}, False
        if path is None or not path.exists():
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            hosts = doc["hosts"]
            assert isinstance(hosts, dict)
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
            log.debug("host cache %s unreadable (%s): starting afresh", path, exc)
            return
        self.hosts = {k: v for k, v in hosts.items() if isinstance(v, dict)}

    def save(self) -> None:
        """End a crawl: keep what is still of use, atomically."""
        if self.path is None or not self.dirty:
            return
        now = time.time()
        keep = {}
        for host, entry in self.hosts.items():
            if entry.get("robots_expires", 0) <= now:
                entry.pop("robots", None)
                entry.pop("robots_expires", None)
            if now - entry.get("latency_at", 0) > LATENCY_KEPT:
                entry.pop("latency", None)
                entry.pop("latency_at", None)
            if entry:
                keep[host] = entry
        # A name of this process's own: two crawls of one store (Scrapyd nodes, `scrapy crawl`
        # beside the daemon) ending together wrote one ".tmp", each truncating the other's.
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"hosts": keep}, ensure_ascii=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning(
                "host cache %s: cannot write (%s); robots.txt is asked again next time", self.path, exc
            )
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self.dirty = False

    # -- robots.txt ------------------------------------------------------------------------
    def robots(self, host: str) -> bytes | None:
        """The robots.txt body of ``host`` while it is fresh."""
        entry = self.hosts.get(host)
        if not entry or "robots" not in entry or entry.get("robots_expires", 0) <= time.time():
            return None
        return str(entry["robots"]).encode("latin-1")

    def remember_robots(self, host: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        """A robots.txt answer: kept when it is final (2xx, or 4xx: no rules) and cacheable."""
        if not (200 <= status < 300 or 400 <= status < 500):
            return
        now = time.time()
        age = freshness(headers, now)
        if age <= 0:
            return
        entry = self.hosts.setdefault(host, {})
        entry["robots"] = (body if 200 <= status < 300 else b"").decode("latin-1")
        entry["robots_expires"] = now + age
        self.dirty = True

    # -- latency -----------------------------------------------------------------------------
    def latency(self, host: str) -> float | None:
        entry = self.hosts.get(host)
        value = entry.get("latency") if entry else None
        return float(value) if isinstance(value, int | float) else None

    def remember_latency(self, host: str, seconds: float) -> None:
        entry = self.hosts.setdefault(host, {})
        entry["latency"] = round(seconds, 4)
        entry["latency_at"] = time.time()
        self.dirty = True


HOSTS = HostCache()
