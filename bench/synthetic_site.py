"""A synthetic J-Defense site with N articles and a synthetic RSS source, for the benchmarks.

The pages come from the imitation's own templates (imitations/jdefense/render.py), so the
spider reads the markup it is tested against; only the content is generated: N articles
(up to 20,000 and more) of Japanese text put together from the imitation's paragraphs,
ids 100001, 100002, ... in the ``mod`` section, two thirds in markup variant "a", one
third in "b". Every page is rendered once, as the full HTTP response in bytes, and served
from a dict by a small asyncio HTTP/1.1 server (keep-alive, ETag / 304) in a process of
its own, so that the server is not what a crawl waits for (``--quick`` checks that). With
``--latency S`` every answer waits S seconds (like a site across the network; the loop
serves others meanwhile) and the server counts the most requests it had in flight at once.

Two ports:

- the J-Defense site: ``/`` (the ``home_size`` newest articles, the ranking sidebar),
  ``/docs/mod/`` (the ``section_size`` newest; ``--archive`` lists every article),
  ``/docs/mod/NNNNNN.html``, ``/robots.txt``; anything else is a 404;
- the feed source: ``/feed.xml`` (RSS 2.0, the ``feed_size`` newest articles, or all with
  ``--archive``), whose items link to the same article pages on the feed port.

Control, on either port (never logged):
``/_control/publish?n=K[&title=T]`` adds K articles after the highest id (linked from the
home page, the section page and the feed; ``title`` goes into each new title) and answers
``{"ids": [...], "at": <unix time>}``; ``/_control/reset`` goes back to the N articles the
server started with and clears the log; ``/_control/log[?clear=1]`` answers the paths
requested since the last clear (and the peak in flight), ``/_control/stats`` their count
by status.

    python bench/synthetic_site.py serve --articles 20000   # prints {"jdefense": url, "feed": url}
    python bench/synthetic_site.py [--quick]                # throughput check: table + JSON

Benchmarks start it with :class:`SyntheticSite` (a context manager around the subprocess).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from imitations.jdefense import data, render  # noqa: E402

JST = timezone(timedelta(hours=9), "JST")
FIRST_ID = 100001
SECTION = "mod"
START = datetime(2024, 1, 1, 9, 0, tzinfo=JST)
STEP = timedelta(minutes=37)  # one article every 37 minutes: 20,000 articles span ~17 months
RANKED = 10  # articles in each ranking window

_SENTENCE = re.compile(r"[^。]+。?")


# --------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------


def _sentences() -> list[str]:
    """Every sentence of the imitation's articles: the pool synthetic bodies are drawn from."""
    pool: list[str] = []
    for article in data.BY_ID.values():
        for paragraph in article.body:
            pool += [s.strip() for s in _SENTENCE.findall(paragraph) if len(s.strip()) > 8]
    return sorted(set(pool))


_POOL = _sentences()
_TITLE_WORDS = sorted(
    {w for a in data.BY_ID.values() for w in re.split(r"[\s、,(（)）]+", a.title) if len(w) > 1}
)


def article_id(n: int) -> str:
    return f"{n:06d}"


def make_article(n: int, published: datetime | None = None, title: str | None = None) -> data.Article:
    """Article number ``n`` (deterministic): 4-6 paragraphs of 2-3 sentences, about 800
    characters, starting with a sentence of its own so no two bodies are alike."""
    rng = random.Random(n)
    when = published or START + STEP * (n - FIRST_ID)
    words = rng.sample(_TITLE_WORDS, 3)
    heading = title or f"{words[0]} {words[1]}、{words[2]}について(第{n}号)"
    paragraphs = [f"防衛省は{when.month}月{when.day}日、第{n}号の発表を行い、{words[0]}について説明した。"]
    for _ in range(rng.randint(4, 6)):
        paragraphs.append("".join(rng.sample(_POOL, rng.randint(2, 3))))
    return data.Article(
        id=article_id(n),
        section=SECTION,
        title=heading,
        date_line=f"{when.year}-{when.month}-{when.day} {when:%H:%M}",
        body=paragraphs,
        variant="b" if n % 3 == 0 else "a",
    )


def rss(articles: list[data.Article], base: str) -> str:
    items = "".join(
        "<item>"
        f"<title>{escape(a.title)}</title>"
        f"<link>{base}{a.path}</link>"
        f'<guid isPermaLink="true">{base}{a.path}</guid>'
        f"<pubDate>{format_datetime(a.published)}</pubDate>"
        f"<category>{escape(a.section_label)}</category>"
        f"<description>{escape(a.body[0])}</description>"
        "</item>\n"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        f"<title>Synthetic defence news</title><link>{base}/</link>"
        "<description>defwatch benchmark feed</description><language>ja</language>\n"
        f"{items}</channel></rss>\n"
    )


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------

_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 405: "Method Not Allowed"}


def response(status: int, body: bytes, content_type: str, etag: str | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Type: {content_type}"]
    if etag:
        head.append(f'ETag: "{etag}"')
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Site:
    """The pages of both ports as ready responses; changed only by :meth:`publish`."""

    def __init__(
        self,
        articles: int,
        home_size: int,
        section_size: int,
        feed_size: int,
        archive: bool,
        latency: float = 0.0,
    ) -> None:
        self.initial = articles
        self.latency = latency  # seconds before each answer (control requests excepted)
        self.home_size = home_size
        self.section_size = articles if archive else section_size
        self.feed_size = articles if archive else feed_size
        self.base = {"jdefense": "", "feed": ""}
        self.pages: dict[str, dict[str, bytes]] = {"jdefense": {}, "feed": {}}
        self.etags: dict[str, dict[str, str]] = {"jdefense": {}, "feed": {}}
        self.articles: list[data.Article] = []
        self.log: list[tuple[str, str, int]] = []  # (port name, path, status)
        self.in_flight = 0  # requests waiting out ``latency``
        self.peak_in_flight = 0  # since the log was last cleared
        self.version = 0
        self.not_found = response(404, render.error_page(404, "ページが見つかりません").encode(), "text/html")

    def build(self, base: dict[str, str]) -> None:
        self.base = base
        self.articles = [make_article(n) for n in range(FIRST_ID, FIRST_ID + self.initial)]
        rng = random.Random(7)
        recent = self.articles[-200:]
        self.ranking = {w: rng.sample(recent, min(RANKED, len(recent))) for w in data.WINDOWS}
        for name in ("jdefense", "feed"):
            self.pages[name] = {
                "/robots.txt": response(200, b"User-agent: *\nDisallow: /wp-admin/\n", "text/plain")
            }
        for a in self.articles:
            self._article_page(a)
        self._listings()

    def _article_page(self, a: data.Article) -> None:
        html = render.article_page(a, self.ranking, self.base["jdefense"]).encode()
        page = response(200, html, "text/html; charset=utf-8", f"a{a.id}")
        self.pages["jdefense"][a.path] = page
        self.pages["feed"][a.path] = page

    def _listings(self) -> None:
        self.version += 1
        newest = self.articles[::-1]
        tag = f"v{self.version}"
        home = render.home_page(newest[: self.home_size], self.ranking).encode()
        section = render.section_page(SECTION, newest[: self.section_size]).encode()
        feed = rss(newest[: self.feed_size], self.base["feed"]).encode()
        html = "text/html; charset=utf-8"
        self.pages["jdefense"]["/"] = response(200, home, html, tag)
        self.pages["jdefense"][f"/docs/{SECTION}/"] = response(200, section, html, tag)
        self.pages["feed"]["/feed.xml"] = response(200, feed, "application/rss+xml; charset=utf-8", tag)
        for name in ("jdefense", "feed"):
            for path in ("/", f"/docs/{SECTION}/", "/feed.xml"):
                self.etags[name][path] = f'"{tag}"'

    def publish(self, count: int, title: str | None) -> list[str]:
        now = datetime.now(JST).replace(second=0, microsecond=0)
        start = FIRST_ID + len(self.articles)
        new = [
            make_article(n, now, f"{title} (第{n}号)" if title else None) for n in range(start, start + count)
        ]
        self.articles += new
        for a in new:
            self._article_page(a)
        self._listings()
        return [a.id for a in new]

    def reset(self) -> None:
        for a in self.articles[self.initial :]:
            for name in ("jdefense", "feed"):
                self.pages[name].pop(a.path, None)
        del self.articles[self.initial :]
        self._listings()
        self.log.clear()

    # -- answering ------------------------------------------------------------------------
    def answer(self, name: str, method: str, target: str, headers: dict[str, str]) -> bytes:
        path, _, query = target.partition("?")
        if path.startswith("/_control/"):
            return self.control(path, parse_qs(query))
        if method not in ("GET", "HEAD"):
            self.log.append((name, target, 405))
            return response(405, b"", "text/plain")
        page = self.pages[name].get(path)
        if page is None:
            self.log.append((name, target, 404))
            return self.not_found
        etag = self.etags[name].get(path)
        if etag and headers.get("if-none-match") == etag:
            self.log.append((name, target, 304))
            return response(304, b"", "text/plain", etag.strip('"'))
        self.log.append((name, target, 200))
        if method == "HEAD":
            return page[: page.index(b"\r\n\r\n") + 4]
        return page

    def control(self, path: str, query: dict[str, list[str]]) -> bytes:
        doc: dict[str, Any]
        if path == "/_control/publish":
            ids = self.publish(int(query.get("n", ["1"])[0]), query.get("title", [None])[0])
            doc = {"ids": ids, "at": time.time()}
        elif path == "/_control/reset":
            self.reset()
            doc = {"articles": len(self.articles)}
        elif path == "/_control/log":
            doc = {"paths": [[n, p, s] for n, p, s in self.log], "peak_in_flight": self.peak_in_flight}
            if query.get("clear"):
                self.log.clear()
                self.peak_in_flight = self.in_flight
        elif path == "/_control/stats":
            doc = {
                "requests": len(self.log),
                "by_status": dict(Counter(str(s) for _, _, s in self.log)),
                "articles": len(self.articles),
                "peak_in_flight": self.peak_in_flight,
                "pid": os.getpid(),
            }
        else:
            return self.not_found
        return response(200, json.dumps(doc).encode(), "application/json")


class _Protocol(asyncio.Protocol):
    """Just enough HTTP/1.1: request line, headers, keep-alive; bodies are skipped."""

    def __init__(self, site: Site, name: str) -> None:
        self.site, self.name = site, name
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        assert self.transport is not None
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            skip = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + skip:
                return
            self.buffer = self.buffer[end + 4 + skip :]
            try:
                method, target, version = head[0].split(" ", 2)
            except ValueError:
                self.transport.close()
                return
            answer = self.site.answer(self.name, method, target, headers)
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if self.site.latency and not target.startswith("/_control/"):
                # Like a site across the network: the answer comes later, the loop serves others.
                self.site.in_flight += 1
                self.site.peak_in_flight = max(self.site.peak_in_flight, self.site.in_flight)
                asyncio.get_running_loop().call_later(self.site.latency, self._send, answer, close, True)
            else:
                self._send(answer, close)
            if close:
                return

    def _send(self, answer: bytes, close: bool, delayed: bool = False) -> None:
        assert self.transport is not None
        if delayed:
            self.site.in_flight -= 1
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        if close:
            self.transport.close()


async def _serve(site: Site, host: str, ready: Any) -> None:
    loop = asyncio.get_running_loop()
    servers = {}
    for name in ("jdefense", "feed"):
        servers[name] = await loop.create_server(
            functools.partial(_Protocol, site, name), host, 0, backlog=4096, reuse_address=True
        )
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    site.build({name: f"http://{host}:{port}" for name, port in ports.items()})
    ready(
        {
            "jdefense": f"http://{host}:{ports['jdefense']}/",
            "feed": f"http://{host}:{ports['feed']}/feed.xml",
            "articles": len(site.articles),
            "pid": os.getpid(),
        }
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers.values():
        s.close()


def serve(args: argparse.Namespace) -> int:
    site = Site(args.articles, args.home_size, args.section_size, args.feed_size, args.archive, args.latency)

    def ready(doc: dict[str, Any]) -> None:
        print(json.dumps(doc), flush=True)

    asyncio.run(_serve(site, "127.0.0.1", ready))
    return 0


# --------------------------------------------------------------------------------------
# For the other benchmarks
# --------------------------------------------------------------------------------------


@dataclass
class SyntheticSite:
    """The server in a child process. ``with SyntheticSite(20_000) as site: site.jdefense``."""

    articles: int = 1000
    home_size: int = 20
    section_size: int = 100
    feed_size: int = 50
    archive: bool = False
    latency: float = 0.0
    peak_in_flight: int = 0  # with ``latency``: most requests answered at once, as of requests()
    jdefense: str = ""
    feed: str = ""
    pid: int = 0

    def __enter__(self) -> SyntheticSite:
        argv = [sys.executable, __file__, "serve", "--articles", str(self.articles)]
        argv += ["--home-size", str(self.home_size), "--section-size", str(self.section_size)]
        argv += ["--feed-size", str(self.feed_size), "--latency", str(self.latency)]
        argv += ["--archive"] if self.archive else []
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"the synthetic site did not start (exit {self.process.returncode})")
        doc = json.loads(line)
        self.jdefense, self.feed, self.pid = doc["jdefense"], doc["feed"], int(doc["pid"])
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def control(self, what: str, **query: Any) -> dict[str, Any]:
        from urllib.parse import urlencode

        url = f"{self.jdefense}_control/{what}" + (f"?{urlencode(query)}" if query else "")
        with urllib.request.urlopen(url, timeout=30) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result

    def publish(self, n: int = 1, title: str | None = None) -> dict[str, Any]:
        return self.control("publish", n=n, **({"title": title} if title else {}))

    def reset(self) -> None:
        self.control("reset")

    def requests(self, clear: bool = False) -> list[tuple[str, str, int]]:
        """(port name, path, status) of every request since the last clear."""
        doc = self.control("log", **({"clear": 1} if clear else {}))
        self.peak_in_flight = int(doc["peak_in_flight"])
        return [(n, p, s) for n, p, s in doc["paths"]]

    def clear(self) -> None:
        self.control("log", clear=1)

    def article_url(self, n: int, port: str = "jdefense") -> str:
        base = self.jdefense.rstrip("/") if port == "jdefense" else self.feed.rsplit("/", 1)[0]
        return f"{base}/docs/{SECTION}/{article_id(n)}.html"

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------
# Throughput check
# --------------------------------------------------------------------------------------


async def _load(host: str, port: int, paths: list[str], connections: int, seconds: float) -> tuple[int, int]:
    """Keep-alive GETs over ``connections`` connections for ``seconds``: (responses, bytes)."""
    deadline = time.monotonic() + seconds
    done = [0, 0]

    async def one(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = k
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += connections
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
            await reader.readexactly(length)
            done[0] += 1
            done[1] += len(head) + length
        writer.close()

    await asyncio.gather(*(one(k) for k in range(connections)))
    return done[0], done[1]


def _load_process(url: str, paths: list[str], connections: int, seconds: float, out: Any) -> None:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    out.put(asyncio.run(_load(parts.hostname, parts.port, paths, connections, seconds)))


def throughput(site: SyntheticSite, clients: int, connections: int, seconds: float) -> dict[str, Any]:
    """Requests per second the server answers to ``clients`` load processes."""
    import multiprocessing

    paths = [urlsplit(site.article_url(n)).path for n in range(FIRST_ID, FIRST_ID + site.articles)]
    random.Random(1).shuffle(paths)
    queue: Any = multiprocessing.Queue()
    cpu0 = site.cpu_seconds()
    clock = time.monotonic()
    procs = [
        multiprocessing.Process(
            target=_load_process, args=(site.jdefense, paths, connections, seconds, queue)
        )
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 30) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    wall = time.monotonic() - clock
    site.clear()
    count = sum(r[0] for r in results)
    size = sum(r[1] for r in results)
    return {
        "clients": clients,
        "connections": connections * clients,
        "seconds": round(seconds, 1),
        "responses": count,
        "requests_per_s": round(count / seconds),
        "mb_per_s": round(size / seconds / 1e6, 1),
        "server_cpu_share": round((site.cpu_seconds() - cpu0) / wall, 2),
    }


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()}


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A plain-text table (the benchmarks print the same way, rich or not installed)."""
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    print(f"\n{title}")
    for k, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if k and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))


def check(args: argparse.Namespace) -> int:
    articles = 1000 if args.quick else 20_000
    seconds = 2.0 if args.quick else 5.0
    clock = time.monotonic()
    with SyntheticSite(articles) as site:
        started = time.monotonic() - clock
        page = urllib.request.urlopen(site.article_url(FIRST_ID), timeout=10).read()
        runs = [throughput(site, clients, 8, seconds) for clients in ((1,) if args.quick else (1, 2))]
    rows = [
        [
            r["connections"],
            r["clients"],
            r["responses"],
            r["requests_per_s"],
            r["mb_per_s"],
            r["server_cpu_share"],
        ]
        for r in runs
    ]
    print_table(
        f"Synthetic site: {articles:,} articles, start-up {started:.1f} s, article page {len(page):,} bytes",
        ["connections", "client procs", "responses", "req/s", "MB/s", "server CPU (cores)"],
        rows,
    )
    report = {
        "bench": "synthetic site throughput",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "profile": "quick" if args.quick else "full",
        "articles": articles,
        "startup_s": round(started, 2),
        "article_page_bytes": len(page),
        "runs": runs,
    }
    out = Path(__file__).with_name("synthetic_site.quick.json" if args.quick else "synthetic_site.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1,000 articles, one 2 s load run")
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="serve until SIGTERM; print the URLs as one JSON line")
    s.add_argument("--articles", type=int, default=1000)
    s.add_argument("--home-size", type=int, default=20)
    s.add_argument("--section-size", type=int, default=100)
    s.add_argument("--feed-size", type=int, default=50)
    s.add_argument("--archive", action="store_true", help="the section page and the feed list every article")
    s.add_argument("--latency", type=float, default=0.0, help="seconds before each answer (default 0)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
