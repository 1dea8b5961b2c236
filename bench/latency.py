"""Detection latency: from an article appearing on the synthetic J-Defense site to the local
webhook receiver getting its alert, with ``defwatch run`` (the daemon) on a one-minute
schedule.

The daemon runs as a user runs it (``python -m scheduler --config FILE run``) against the
synthetic site (bench/synthetic_site.py); one rule matches a word that only the published
test articles carry and notifies a ``webhook`` channel whose URL is a receiver in this
process. Each trial waits a random time (uniform over one schedule interval, so the article
appears at a random point of the schedule), publishes one article, and times its alert.
Each latency is split into: waiting for the next scheduled crawl (publication to the start
of the crawl that stored it), the crawl (start to the story stored) and delivery (stored to
received).

    python bench/latency.py            # "* * * * *" (one minute), 10 trials, no jitter
    python bench/latency.py --jitter 5s    # with [scheduler] jitter at its default (latency.jitter-5s.json)
    python bench/latency.py --quick    # "*/5 * * * * *" (5 s), 3 trials (for make bench)

Prints a table and writes bench/latency.json (latency.quick.json). Exits 1 when the worst
latency exceeds the schedule interval + 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from synthetic_site import SyntheticSite, machine, print_table  # noqa: E402

KEYWORD = "速報試験"
MARGIN_S = 10.0

CONFIG = """\
[store]
url = "sqlite:///{folder}/defwatch.db"

[crawl]
allow_private = true
autothrottle = false

[scheduler]
jitter = "{jitter}"
crawl_timeout = "{crawl_timeout}"

[feeds]
dir = "{folder}/public"

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "{url}"
schedule = "{schedule}"

[[rules]]
name = "test-articles"
keywords = ["{keyword}"]
notify = ["hook"]
{extra_rules}
[channels.hook]
type = "webhook"
url = "{hook}"
"""


def daemon_config(
    folder: Path,
    url: str,
    schedule: str,
    hook: str,
    *,
    jitter: str = "0s",
    crawl_timeout: str = "5m",
    extra_rules: str = "",
) -> str:
    """The daemon's defwatch.toml: the synthetic J-Defense site on ``schedule``, a rule on
    KEYWORD (plus ``extra_rules``, TOML) alerting the webhook receiver at ``hook``."""
    return CONFIG.format(
        folder=folder,
        url=url,
        schedule=schedule,
        hook=hook,
        keyword=KEYWORD,
        jitter=jitter,
        crawl_timeout=crawl_timeout,
        extra_rules=extra_rules,
    )


# --------------------------------------------------------------------------------------
# A webhook receiver, and the daemon as a child process (shared with bench/memory.py)
# --------------------------------------------------------------------------------------


class Receiver:
    """A local HTTP endpoint that keeps every JSON body POSTed to it, with its arrival time."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with outer.cond:
                    outer.received.append((arrived, json.loads(body or b"{}")))
                    outer.cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, text: str, timeout: float) -> tuple[float, dict[str, Any]] | None:
        """The first alert whose story title contains ``text``, waiting up to ``timeout``."""

        def find() -> tuple[float, dict[str, Any]] | None:
            for when, doc in self.received:
                if text in ((doc.get("story") or {}).get("title") or ""):
                    return when, doc
            return None

        with self.cond:
            self.cond.wait_for(lambda: find() is not None, timeout)
            return find()


class DaemonProcess:
    """``defwatch run`` in ``folder`` with ``config``; its log goes to ``folder/daemon.log``."""

    def __init__(self, folder: Path, config: Path) -> None:
        self.folder, self.config = folder, config
        self.log_path = folder / "daemon.log"

    def __enter__(self) -> DaemonProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEFWATCH_")}
        env["PYTHONPATH"] = str(HERE.parent)
        self.log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(self.config), "run"],
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def open_store(folder: Path, timeout: float = 60) -> Any:
    """The daemon's store, once the daemon has created and migrated it."""
    from store import Store

    deadline = time.monotonic() + timeout
    while True:
        try:
            store = Store.open(f"sqlite:///{folder}/defwatch.db", migrate=False)
            store.runs("jdefense", limit=1)
            return store
        except Exception:  # not created or not migrated yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def finished_runs(store: Any, source: str = "jdefense") -> list[dict[str, Any]]:
    return [r for r in store.runs(source, limit=1000) if r["outcome"] != "running"]


def wait_runs(store: Any, daemon: DaemonProcess, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(finished_runs(store)) < count:
        if not daemon.alive():
            raise RuntimeError(f"the daemon exited ({daemon.process.returncode}):\n{daemon.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no crawl finished within {timeout:.0f} s:\n{daemon.tail()}")
        time.sleep(0.5)


# --------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------


def trial(
    i: int, site: SyntheticSite, receiver: Receiver, store: Any, interval: float, rng: random.Random
) -> dict[str, Any]:
    time.sleep(rng.uniform(0, interval))
    marker = f"{KEYWORD} trial-{i}-{rng.randrange(10**6)}"
    published = site.publish(1, title=marker)
    at = float(published["at"])
    got = receiver.wait_for(marker, timeout=interval * 2 + 120)
    if got is None:
        return {"trial": i, "published": at, "latency_s": None, "error": "no alert within the timeout"}
    received, doc = got
    row: dict[str, Any] = {"trial": i, "latency_s": round(received - at, 2)}
    story = store.get_story(doc["story"]["url"])
    if story is not None:
        stored = story["fetched"].timestamp()
        runs = [r for r in store.runs("jdefense", limit=50) if r["started"].timestamp() <= stored]
        if runs:
            started = runs[0]["started"].timestamp()
            row["wait_for_crawl_s"] = round(started - at, 2)
            row["crawl_until_stored_s"] = round(stored - started, 2)
        row["stored_to_received_s"] = round(received - stored, 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5-second schedule, 3 trials (for make bench)")
    parser.add_argument("--trials", type=int, help="default 10 (3 with --quick)")
    parser.add_argument(
        "--jitter", default="0s", help='[scheduler] jitter (default "0s"; defwatch\'s own is "5s")'
    )
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    schedule, interval = ("*/5 * * * * *", 5.0) if args.quick else ("* * * * *", 60.0)
    trials = args.trials or (3 if args.quick else 10)
    rng = random.Random(args.seed)
    jitter_s = float(args.jitter.rstrip("s") or 0)
    rows: list[dict[str, Any]] = []
    clock = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="defwatch-bench-latency-") as tmp,
        SyntheticSite(200) as site,
        Receiver() as receiver,
    ):
        folder = Path(tmp)
        config = folder / "defwatch.toml"
        config.write_text(
            daemon_config(folder, site.jdefense, schedule, receiver.url, jitter=args.jitter),
            encoding="utf-8",
        )
        with DaemonProcess(folder, config) as daemon:
            store = open_store(folder)
            wait_runs(store, daemon, 1, timeout=120)  # the first crawl stores the 200 articles
            for i in range(trials):
                rows.append(trial(i, site, receiver, store, interval, rng))
                print(f"  trial {i + 1}/{trials}: {rows[-1].get('latency_s')} s", flush=True)
            store.close()
            code = daemon.stop()
    latencies = [r["latency_s"] for r in rows if r.get("latency_s") is not None]
    limit = interval + MARGIN_S
    worst = max(latencies) if latencies else None
    report: dict[str, Any] = {
        "bench": "detection latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "profile": "quick" if args.quick else "full",
        "command": "python bench/latency.py"
        + (" --quick" if args.quick else "")
        + (f" --jitter {args.jitter}" if jitter_s else ""),
        "schedule": schedule,
        "interval_s": interval,
        "jitter": args.jitter,
        "trials": trials,
        "median_s": round(statistics.median(latencies), 2) if latencies else None,
        "worst_s": worst,
        "best_s": min(latencies) if latencies else None,
        "limit_s": limit,
        "met": len(latencies) == trials and worst is not None and worst <= limit,
        "daemon_exit": code,
        "seconds": round(time.monotonic() - clock, 1),
        "rows": rows,
    }
    print_table(
        f"Detection latency, schedule {schedule!r}, jitter {args.jitter}, {trials} trials",
        [
            "trial",
            "latency s",
            "published -> crawl start s",
            "crawl start -> stored s",
            "stored -> received s",
        ],
        [
            [
                r["trial"] + 1,
                r.get("latency_s"),
                r.get("wait_for_crawl_s"),
                r.get("crawl_until_stored_s"),
                r.get("stored_to_received_s"),
            ]
            for r in rows
        ],
    )
    print(
        f"  median {report['median_s']} s, worst {worst} s, limit {limit:g} s "
        f"(interval + {MARGIN_S:g} s) -> {'met' if report['met'] else 'NOT met'}"
    )
    name = "latency.quick" if args.quick else "latency"
    out = HERE / (f"{name}.jitter-{args.jitter}.json" if jitter_s else f"{name}.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
