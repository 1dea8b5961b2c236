"""``defwatch demo`` (``make demo``): the whole pipeline against the bundled imitation sites
on 127.0.0.1, no internet and no secrets.

It serves the J-Defense, ministry and news-feed imitations (the ``imitations`` package),
listens for webhooks and prints what arrives, writes a configuration for all of that into
a fresh folder, runs a cycle, moves the sites one day forward, runs another, and
ends with what came of it: stories, copies linked, ranking movements, feeds, alerts.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.errors import EXIT_FAILED, EXIT_OK
from core.model import WINDOWS
from imitations.feed import FeedSite
from imitations.jdefense import JDefenseSite
from imitations.mod import ModSite
from imitations.server import SiteServer

if TYPE_CHECKING:
    from core.config import Config
    from core.model import Movement, RunResult
    from store import Store

EXIT_INTERRUPTED = 130  # as for Ctrl-C anywhere else in the command

# --------------------------------------------------------------------------------------
# The webhook receiver
# --------------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint that answers 204 to every POST and prints what it got."""

    out: IO[str]
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    document = json.loads(body.decode("utf-8"))
                except ValueError:
                    document = {"unreadable": body[:200].decode("utf-8", "replace")}
                receiver.got(document)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def got(self, document: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(document)
            story = document.get("story") or {}
            what = story.get("title") or document.get("title") or document.get("text") or "(no title)"
            where = f" ({story['source']})" if story.get("source") else ""
            rule = document.get("rule") or document.get("kind") or "?"
            print(f"  webhook ← {rule}: {what}{where}", file=self.out, flush=True)


# --------------------------------------------------------------------------------------
# The sites and the configuration
# --------------------------------------------------------------------------------------


def _sites() -> tuple[Any, dict[str, str]]:
    """Start the imitations; return the server and each source's URL."""
    sites: dict[str, Any] = {
        "jdefense": JDefenseSite(),
        "mod": ModSite(),  # as the real site answers: every HTML page a bot challenge
        "navalnews": FeedSite(),
    }
    server = SiteServer(sites).start()
    urls = {
        "jdefense": server.url("jdefense"),
        "mod": server.url("mod"),
        "navalnews": server.url("navalnews", "/feed/"),
    }
    return server, urls


def demo_config(folder: Path, urls: dict[str, str], webhook_url: str) -> str:
    """The demo's defwatch.toml: the imitations, two keyword rules, a webhook and a file."""

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a TOML basic string

    sources = f"""
[[sources]]
name = "jdefense"
kind = "jdefense"
url = {q(urls["jdefense"])}
sections = ["mod", "world"]

[[sources]]
name = "mod"
kind = "mod"
url = {q(urls["mod"])}
jinji = ["/j/press/jinji/2025/index.html"]   # the imitation's year
"""
    if "navalnews" in urls:
        sources += f"""
[[sources]]
name = "navalnews"
kind = "feed"
url = {q(urls["navalnews"])}
timezone = "UTC"
"""
    return f"""# Written by `defwatch demo`: the imitation sites on 127.0.0.1, nothing secret.
[store]
url = {q("sqlite:///" + str(folder / "defwatch.db"))}

[crawl]
allow_private = true  # the imitation sites are on 127.0.0.1
user_agent = "defwatch-demo (+http://127.0.0.1/)"
autothrottle = false
concurrency_per_domain = 4
timeout = "10s"

[scheduler]
crawl_timeout = "40s"

[alerts]
retry_initial = "5s"

[feeds]
dir = {q(str(folder / "public"))}
base_url = "http://127.0.0.1:8080/"
{sources}
[[rules]]
name = "asean"
keywords = ["ASEAN", "東南アジア諸国連合"]
notify = ["hook", "file"]

[[rules]]
name = "jinji"
keywords = ["人事発令"]
fields = ["title"]
notify = ["hook", "file"]

[channels.hook]
type = "webhook"
url = {q(webhook_url)}

[channels.file]
type = "file"
path = {q(str(folder / "alerts.jsonl"))}
"""


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def run_demo(verbosity: int = 0, log_format: str = "text", out: IO[str] | None = None) -> int:
    from core.config import load_config
    from scheduler.daemon import ChildOptions, Daemon
    from store import Store

    out = out or sys.stdout
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="defwatch-demo-"))
    server, urls = _sites()
    receiver = WebhookReceiver(out).start()
    try:
        path = folder / "defwatch.toml"
        path.write_text(demo_config(folder, urls, receiver.url), encoding="utf-8")
        config = load_config(path)
        say = _printer(out)
        say(f"defwatch demo: files in {folder}")
        for name, url in urls.items():
            say(f"  {name:<10} {url}")
        say(f"  {'webhook':<10} {receiver.url}")
        store = Store.open(config.store.url)
        try:
            options = ChildOptions(str(path), verbosity, log_format)
            failed = False
            for cycle, epoch in ((1, 0), (2, 1)):
                if epoch:
                    server.set_epoch(epoch)
                    say(f"\nthe sites move one day forward (epoch {epoch - 1} → {epoch})")
                say(f"\ncycle {cycle}: crawl every source, then alerts and feeds")
                daemon = Daemon(config, store, options)  # its own store: no lock needed
                code, results = daemon.run_once()
                if daemon.stopping.is_set():
                    say("stopped")
                    return EXIT_INTERRUPTED
                _print_results(results, say)
                failed = failed or code != EXIT_OK
            say("")
            _print_summary(config, store, folder, receiver, say)
            _print_ranking(config, out)
        finally:
            store.close()
        say(f"\ndone in {time.monotonic() - began:.0f}s. Look around (from this folder):")
        me = f"{self_command()} --config {shlex.quote(str(path))}"
        say(f"  {me} status")
        say(f"  {me} ranking --chart {shlex.quote(str(folder / 'ranking.png'))}")
        say(f"  {me} stories list")
        say(f"  {me} serve      # the feeds and the web page on http://127.0.0.1:8080/")
        return EXIT_FAILED if failed else EXIT_OK
    finally:
        receiver.stop()
        server.stop()


def self_command() -> str:
    """How to run defwatch again as it was run now, from the current folder: `defwatch`
    when that is on PATH, else the script's path (`.venv/bin/defwatch` after `make demo`),
    or the interpreter with `-m scheduler`."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "defwatch":
        found = shutil.which("defwatch")
        if found and Path(found).absolute() == argv0.absolute():
            return "defwatch"
        return shlex.quote(_relative(argv0))
    return f"{shlex.quote(_relative(Path(sys.executable)))} -m scheduler"


def _relative(path: Path) -> str:
    """``path`` as typed from the current folder (no symlinks resolved: a venv's python is one)."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)
    return relative if "/" in relative else f"./{relative}"


def _printer(out: IO[str]) -> Any:
    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    return say


def _print_results(results: list[RunResult], say: Any) -> None:
    for r in results:
        reason = f" ({r.reason})" if r.reason else ""
        say(
            f"  {r.source:<10} {r.outcome:<9} {r.new_stories:>3} new stories, "
            f"{r.requests:>3} requests, {r.seconds:.1f}s{reason}"
        )


def _print_summary(config: Config, store: Store, folder: Path, receiver: WebhookReceiver, say: Any) -> None:
    per_source = Counter(s["source"] for s in store.stories())
    detail = ", ".join(f"{name} {n}" for name, n in sorted(per_source.items()))
    say("summary")
    say(f"  stories:           {store.count_stories()} ({detail})")
    say(f"  copies linked:     {_copies(store)}")
    movements = _movements(store)
    kinds = Counter(m.kind for m in movements)
    kinds_text = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    say(f"  ranking movements: {len(movements)}" + (f" ({kinds_text})" if kinds_text else ""))
    feeds = sorted(p for p in Path(config.feeds.dir).rglob("*") if p.is_file() and not p.name.startswith("."))
    say(f"  feeds written:     {len(feeds)} files in {config.feeds.dir}")
    for p in feeds:
        if p.suffix in (".rss", ".opml"):  # each feed is also there as .atom
            say(f"    {p}")
    counts = store.delivery_counts()
    by_channel = ", ".join(f"{name} {n}" for name, n in sorted(_sent_by_channel(store).items()))
    say(
        f"  alerts delivered:  {counts['sent']} ({by_channel}; {counts['pending']} pending, "
        f"{counts['failed']} failed); the webhook receiver got {len(receiver.received)}"
    )
    say(f"    {folder / 'alerts.jsonl'} (the file channel)")


def _sent_by_channel(store: Store) -> dict[str, int]:
    from store.outbox import counts_by_channel

    with store.engine.connect() as conn:
        return {name: n["sent"] for name, n in counts_by_channel(conn).items()}


def _copies(store: Store) -> int:
    from store.feeds import copy_links

    with store.engine.connect() as conn:
        return len(copy_links(conn))


def _movements(store: Store) -> list[Movement]:
    from store.rankings import recent_events

    return [m for w in WINDOWS for m in recent_events(store, None, w, 100_000)]


def _print_ranking(config: Config, out: IO[str]) -> None:
    from rankings.history import ranking_command

    print("\nthe 24h reading ranking now (`defwatch ranking`):", file=out)
    ranking_command(config, "24h", None, None, out)
