"""defwatch side by side with urlwatch on the same N local RSS feeds (ETag / 304).

urlwatch is what a user would pick to "tell me when a feed changes". This script installs
it (``urlwatch==2.29``, from PyPI, by pip) into a virtualenv of its own under
``~/.cache/defwatch-bench/`` (once), serves N RSS feeds of 10 items each on 127.0.0.1 (a
threaded HTTP/1.1 server in this process: ETag, 304 on If-None-Match, requests and 304s
counted), and runs both tools, interleaved (the order alternating by round), for three
cycles on fresh state: the first (everything new), unchanged (every feed answers 304),
and new-item (one new item in every feed). Each tool runs as a user runs it from cron:
``defwatch run --once`` and ``urlwatch`` with its cache, both as subprocesses.

For each run: wall time; CPU of the whole process tree (user + system, from ``wait4`` of
the top process: every descendant is waited for by its parent, so its time is included);
the highest PSS of the tree (``/proc/*/smaps_rollup`` of every descendant, sampled every
0.1 s); requests and 304s seen by the server; items found (defwatch: new stories; urlwatch:
jobs it reported new or changed). Ratios defwatch / urlwatch per round, min / median / max.

``--daemon``: ``defwatch run`` over N feeds (1,000 by default) on ``* * * * *`` for some
minutes (10 by default), one new item in every feed each minute; cycle durations (from the
daemon's log), skipped runs, CPU per minute and PSS over time, and what the tree keeps
between cycles (the daemon's resident set, its zygote's and the tree's PSS, minute by
minute, with the growth per cycle). ``--compare`` runs, at the same time, a second daemon
building its feeds in its own process as it did before 2026-12-04 (docs/performance.md,
"Daemon memory").

    python bench/peers.py --quick           # N = 50, one round (make bench)
    python bench/peers.py                   # N = 50, 200, 1000; 3 rounds
    python bench/peers.py --daemon [--feeds 1000 --minutes 10] [--compare]

Writes bench/peers.json (bench/peers.quick.json with --quick; bench/peers.daemon.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.synthetic_site import machine, print_table  # noqa: E402

URLWATCH = "urlwatch==2.29"
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "defwatch-bench" / "urlwatch-2.29"
ITEMS = 10  # items in every feed at the start
WORDS = [
    "frigate",
    "destroyer",
    "exercise",
    "procurement",
    "budget",
    "ministry",
    "radar",
    "missile",
    "submarine",
    "escort",
    "alliance",
    "summit",
    "treaty",
    "patrol",
    "aircraft",
    "helicopter",
    "logistics",
    "satellite",
    "cyber",
    "training",
    "deployment",
    "agreement",
    "minister",
    "delegation",
    "coast",
    "guard",
    "island",
    "airspace",
    "reconnaissance",
    "海上自衛隊",
    "護衛艦",
    "演習",
    "予算",
    "防衛省",
    "装備",
    "調達",
    "哨戒機",
    "潜水艦",
    "同盟",
    "首脳",
    "条約",
    "領空",
    "警戒",
    "訓練",
]


# --------------------------------------------------------------------------------------
# The feeds
# --------------------------------------------------------------------------------------


class Feeds:
    """N RSS feeds at /feed/<i>.xml; ``publish()`` adds one item to every feed."""

    def __init__(self, n: int, items: int = ITEMS) -> None:
        self.n = n
        self.items = items
        self.extra = 0  # items published after the first ITEMS
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self._cache: dict[tuple[int, int], tuple[bytes, str]] = {}
        self.base = ""

    def body(self, i: int) -> tuple[bytes, str]:
        key = (i, self.extra)
        if key not in self._cache:
            start = datetime(2026, 1, 1, tzinfo=UTC)
            items = []
            for k in range(self.items + self.extra, 0, -1):
                when = format_datetime(start + timedelta(hours=k))
                # Words drawn per item (seeded by feed and item): items as different from each
                # other as news items are, so link detection finds no copies among them.
                rng = random.Random(i * 1_000_003 + k)
                words = " ".join(rng.choice(WORDS) for _ in range(24))
                items.append(
                    f"<item><title>防衛装備 {' '.join(rng.choice(WORDS) for _ in range(5))} ({i}-{k})</title>"
                    f"<link>{self.base}/a/{i}/{k}.html</link><guid>{self.base}/a/{i}/{k}.html</guid>"
                    f"<pubDate>{when}</pubDate><description>{words}</description></item>"
                )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>Feed {i}</title><link>{self.base}/</link><description>feed {i}</description>"
                + "".join(items)
                + "</channel></rss>"
            )
            self._cache[key] = (xml.encode("utf-8"), f'"f{i}-{self.items + self.extra}"')
        return self._cache[key]

    def publish(self) -> None:
        with self.lock:
            self.extra += 1
            self._cache.clear()

    def reset(self) -> None:
        with self.lock:
            self.extra = 0
            self._cache.clear()

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return self.requests, self.not_modified

    def url(self, i: int) -> str:
        return f"{self.base}/feed/{i}.xml"


class _FeedServer(ThreadingHTTPServer):
    # The listen backlog is set when the server is made (socketserver's default: 5): with 5,
    # the connections of 200 sources opened at once overflowed it, and those the kernel
    # dropped were tried again 1, 3, 7 ... s later, or cut at the 60 s request timeout.
    request_queue_size = 1024
    daemon_threads = True


def serve(feeds: Feeds) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            m = re.fullmatch(r"/feed/(\d+)\.xml", self.path)
            with feeds.lock:
                feeds.requests += 1
            if not m or int(m.group(1)) >= feeds.n:
                self._send(404, b"not found", "text/plain")
                return
            body, etag = feeds.body(int(m.group(1)))
            if self.headers.get("If-None-Match") == etag:
                with feeds.lock:
                    feeds.not_modified += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(200, body, "application/rss+xml; charset=utf-8", etag)

        def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = _FeedServer(("127.0.0.1", 0), Handler)
    feeds.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="feeds", daemon=True).start()
    return server


# --------------------------------------------------------------------------------------
# Measuring a process tree
# --------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_pids(root: int) -> list[int]:
    tree = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu(root: int) -> float:
    """CPU seconds of the live tree, with what its reaped descendants used (cutime, cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


@dataclass
class Measured:
    wall: float
    cpu: float
    pss_mb: float
    code: int
    stdout: str = ""
    stderr: str = ""


class PssSampler(threading.Thread):
    def __init__(self, root: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, sum(pss_kb(p) for p in tree_pids(self.root)))
            self.stop.wait(self.every)


def measure(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> Measured:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.monotonic()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        sampler = PssSampler(process.pid)
        sampler.start()
        deadline = began + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            usage.ru_utime + usage.ru_stime,
            sampler.peak / 1024,
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


# --------------------------------------------------------------------------------------
# The tools
# --------------------------------------------------------------------------------------


def compile_defwatch() -> None:
    """Byte-code for defwatch's own modules, as ``pip install`` writes it (and as urlwatch's
    virtualenv has it): with PYTHONDONTWRITEBYTECODE set, a run from the checkout would
    otherwise compile every module it imports on every cycle (0.2 CPU-s a process)."""
    packages = [
        str(REPO / p)
        for p in ("alerts", "core", "crawler", "feeds", "ingest", "rankings", "scheduler", "store")
    ]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages], check=True, stdout=subprocess.DEVNULL
    )


def install_urlwatch() -> Path:
    exe = VENV / "bin" / "urlwatch"
    if exe.exists():
        return exe
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", URLWATCH], check=True)
    return exe


class Urlwatch:
    name = "urlwatch"

    def __init__(self, exe: Path, folder: Path, feeds: Feeds) -> None:
        self.exe, self.folder = exe, folder
        folder.mkdir(parents=True)
        jobs = "".join(f"---\nname: feed {i}\nurl: {feeds.url(i)}\n" for i in range(feeds.n))
        (folder / "urls.yaml").write_text(jobs.lstrip("-\n"), encoding="utf-8")
        (folder / "urlwatch.yaml").write_text(
            "display: {new: true, error: true, unchanged: false}\n"
            "report:\n  text: {details: false, footer: false}\n  stdout: {enabled: true, color: false}\n",
            encoding="utf-8",
        )

    def run(self) -> tuple[Measured, int]:
        argv = [
            str(self.exe),
            "--urls",
            str(self.folder / "urls.yaml"),
            "--config",
            str(self.folder / "urlwatch.yaml"),
            "--cache",
            str(self.folder / "cache.db"),
        ]
        env = {**os.environ, "HOME": str(self.folder)}
        m = measure(argv, self.folder, env)
        items = len(re.findall(r"^(?:\d+\. )?(?:NEW|CHANGED): ", m.stdout, re.M))
        return m, items


class Defwatch:
    name = "defwatch"

    def __init__(self, folder: Path, feeds: Feeds, schedule: str = "0 0 1 1 *", rule: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        lines = [
            "[store]",
            'url = "sqlite:///data/defwatch.db"',
            "[crawl]",
            "allow_private = true",  # the feeds are on 127.0.0.1
            "[feeds]",
            'dir = "public"',
            "[scheduler]",
            'jitter = "0s"',
        ]
        if rule:  # every item matches: each becomes a delivery in the outbox
            lines += [
                "[[rules]]",
                'name = "procurement"',
                'keywords = ["防衛装備"]',
                'notify = ["file"]',
                "[channels.file]",
                'type = "file"',
                f'path = "{folder / "alerts.jsonl"}"',
            ]
        for i in range(feeds.n):
            lines += [
                "[[sources]]",
                f'name = "feed{i}"',
                'kind = "feed"',
                f'url = "{feeds.url(i)}"',
                f'schedule = "{schedule}"',
            ]
        (folder / "defwatch.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DEFWATCH_")}
        self.env["PYTHONPATH"] = str(REPO)

    def run(self) -> tuple[Measured, int]:
        before = self.stories()
        m = measure([sys.executable, "-m", "scheduler", "run", "--once"], self.folder, self.env)
        return m, self.stories() - before

    def stories(self) -> int:
        db = self.folder / "data" / "defwatch.db"
        if not db.exists():
            return 0
        import sqlite3

        with sqlite3.connect(db) as conn:
            return int(conn.execute("select count(*) from stories").fetchone()[0])


# --------------------------------------------------------------------------------------
# Side by side
# --------------------------------------------------------------------------------------

CYCLES = ("first", "unchanged", "new item")


def side_by_side(sizes: list[int], rounds: int, exe: Path, work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in sizes:
        feeds = Feeds(n)
        server = serve(feeds)
        try:
            for r in range(rounds):
                feeds.reset()
                tools: list[Any] = [
                    Defwatch(work / f"d{n}-{r}", feeds),
                    Urlwatch(exe, work / f"u{n}-{r}", feeds),
                ]
                if r % 2:
                    tools.reverse()
                for cycle in CYCLES:
                    if cycle == "new item":
                        feeds.publish()
                    for tool in tools:
                        req0, nm0 = feeds.counts()
                        m, items = tool.run()
                        req1, nm1 = feeds.counts()
                        row = {
                            "feeds": n,
                            "round": r,
                            "cycle": cycle,
                            "tool": tool.name,
                            "wall_s": round(m.wall, 3),
                            "cpu_s": round(m.cpu, 3),
                            "pss_mb": round(m.pss_mb, 1),
                            "requests": req1 - req0,
                            "not_modified": nm1 - nm0,
                            "items": items,
                            "exit": m.code,
                            "load": os.getloadavg()[0],
                        }
                        if m.code not in (0,) and tool.name == "defwatch":
                            row["stderr_tail"] = m.stderr[-600:]
                        rows.append(row)
                        print(
                            f"  N={n} round {r} {cycle:<9} {tool.name:<8} wall {m.wall:6.2f} s  "
                            f"cpu {m.cpu:6.2f} s  pss {m.pss_mb:7.1f} MB  requests {req1 - req0:5d} "
                            f"(304: {nm1 - nm0:5d})  items {items:5d}  exit {m.code}",
                            flush=True,
                        )
                for tool in tools:
                    shutil.rmtree(tool.folder, ignore_errors=True)
        finally:
            server.shutdown()
            server.server_close()
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """defwatch / urlwatch per (N, cycle) over the rounds: min, median, max of each measure."""
    out = []
    keys = sorted({(r["feeds"], r["cycle"]) for r in rows}, key=lambda k: (k[0], CYCLES.index(k[1])))
    for n, cycle in keys:
        entry: dict[str, Any] = {"feeds": n, "cycle": cycle}
        for tool in ("defwatch", "urlwatch"):
            mine = [r for r in rows if (r["feeds"], r["cycle"], r["tool"]) == (n, cycle, tool)]
            for measure_ in ("wall_s", "cpu_s", "pss_mb", "requests", "not_modified", "items"):
                entry[f"{tool}_{measure_}"] = statistics.median(r[measure_] for r in mine)
        for measure_ in ("wall_s", "cpu_s", "pss_mb"):
            per_round = []
            for r in sorted({r["round"] for r in rows if r["feeds"] == n}):
                d = [
                    x
                    for x in rows
                    if (x["feeds"], x["cycle"], x["round"], x["tool"]) == (n, cycle, r, "defwatch")
                ]
                u = [
                    x
                    for x in rows
                    if (x["feeds"], x["cycle"], x["round"], x["tool"]) == (n, cycle, r, "urlwatch")
                ]
                if d and u and u[0][measure_]:
                    per_round.append(d[0][measure_] / u[0][measure_])
            if per_round:
                entry[f"ratio_{measure_}"] = [
                    round(min(per_round), 2),
                    round(statistics.median(per_round), 2),
                    round(max(per_round), 2),
                ]
        out.append(entry)
    return out


def print_ratios(summary: list[dict[str, Any]]) -> None:
    def trio(v: list[float] | None) -> str:
        return "/".join(f"{x:g}" for x in v) if v else "-"

    print_table(
        "defwatch vs urlwatch (medians over rounds; ratios defwatch/urlwatch min/median/max)",
        [
            "N",
            "cycle",
            "wall s d / u",
            "CPU s d / u",
            "PSS MB d / u",
            "requests (304) d / u",
            "items d / u",
            "CPU ratio",
            "wall ratio",
            "PSS ratio",
        ],
        [
            [
                e["feeds"],
                e["cycle"],
                f"{e['defwatch_wall_s']:.2f} / {e['urlwatch_wall_s']:.2f}",
                f"{e['defwatch_cpu_s']:.2f} / {e['urlwatch_cpu_s']:.2f}",
                f"{e['defwatch_pss_mb']:.0f} / {e['urlwatch_pss_mb']:.0f}",
                f"{e['defwatch_requests']:g} ({e['defwatch_not_modified']:g}) / "
                f"{e['urlwatch_requests']:g} ({e['urlwatch_not_modified']:g})",
                f"{e['defwatch_items']:g} / {e['urlwatch_items']:g}",
                trio(e.get("ratio_cpu_s")),
                trio(e.get("ratio_wall_s")),
                trio(e.get("ratio_pss_mb")),
            ]
            for e in summary
        ],
    )


# --------------------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------------------

BATCH_DONE = re.compile(r"crawl batch of (\d+) sources: done in ([\d.]+)s \(([^)]*)\)")

# "before": the daemon as it was until 2026-12-04, building its feeds in its own process
# (the same code, its feed build put back in the daemon by this launcher; nothing else differs).
IN_DAEMON = (
    "import runpy, sys\n"
    "import scheduler.daemon as d\n"
    "d.Daemon._build_feeds = lambda self, since, once: bool(d.build_feeds(self.config, self.store, since, due=once))\n"
    "sys.argv = ['defwatch', *sys.argv[1:]]\n"
    "runpy.run_module('scheduler', run_name='__main__', alter_sys=True)\n"
)
VARIANTS = {"after": "feeds built in a child", "before": "feeds built in the daemon"}


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class DaemonRun:
    """One ``defwatch run`` over its own n feeds, sampled every second: the whole tree's CPU
    and PSS, and apart the daemon process (resident set, PSS), its zygote (its only child)
    and the work (crawl processes, page workers, feed builds: the zygote's children)."""

    def __init__(self, n: int, work: Path, variant: str = "after") -> None:
        self.variant = variant
        self.feeds = Feeds(n)
        self.server = serve(self.feeds)
        self.tool = Defwatch(work / f"daemon{n}-{variant}", self.feeds, schedule="* * * * *")
        self.log_path = self.tool.folder / "daemon.log"
        self.samples: list[dict[str, Any]] = []
        head = (
            [sys.executable, "-c", IN_DAEMON] if variant == "before" else [sys.executable, "-m", "scheduler"]
        )
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [*head, "-v", "run"],
                cwd=self.tool.folder,
                env=self.tool.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.began = time.monotonic()

    def sample(self, now: float) -> None:
        tree = _children()
        root = self.process.pid
        zygotes = tree.get(root, [])
        work = [p for p in tree_pids(root) if p != root and p not in zygotes]
        self.samples.append(
            {
                "t": round(now - self.began, 1),
                "cpu_s": round(tree_cpu(root), 2),
                "pss_mb": round(sum(pss_kb(p) for p in tree_pids(root)) / 1024, 1),
                "daemon_rss_mb": round(rss_kb(root) / 1024, 1),
                "daemon_pss_mb": round(pss_kb(root) / 1024, 1),
                "zygote_pss_mb": round(sum(pss_kb(p) for p in zygotes) / 1024, 1),
                "work_processes": len(work),
            }
        )

    def stop(self) -> int:
        self.process.terminate()
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.server.shutdown()
        self.server.server_close()
        return code

    def report(self, minutes: float, code: int, keep_log: Path | None) -> dict[str, Any]:
        samples = self.samples
        requests, not_modified = self.feeds.counts()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        # A batch cut by the benchmark's own stop (outcomes "interrupted") is no cycle.
        done = BATCH_DONE.findall(text)
        cycles = [(int(a), float(b)) for a, b, outcomes in done if "interrupted" not in outcomes]
        cut = [(int(a), float(b)) for a, b, outcomes in done if "interrupted" in outcomes]
        elapsed = samples[-1]["t"] if samples else 0.0
        cpu = samples[-1]["cpu_s"] if samples else 0.0
        per_minute = [
            round(b["cpu_s"] - a["cpu_s"], 2)
            for a, b in zip(samples, samples[60:], strict=False)
            if abs((b["t"] - a["t"]) - 60) < 10
        ][::60]
        between = between_cycles(samples)
        stories = self.tool.stories()
        if keep_log is not None:
            shutil.copyfile(
                self.log_path, keep_log.with_name(f"{keep_log.stem}-{self.variant}{keep_log.suffix}")
            )
        shutil.rmtree(self.tool.folder, ignore_errors=True)
        return {
            "variant": self.variant,
            "what": VARIANTS[self.variant],
            "feeds": self.feeds.n,
            "minutes": minutes,
            "exit": code,
            "cycles": cycles,
            "cycle_s_max": max((s for _, s in cycles), default=None),
            "cycle_s_median": statistics.median(s for _, s in cycles) if cycles else None,
            "cut_by_the_stop": cut,
            "skipped": text.count("still going; skipped"),
            "started_late": text.count("starts when it ends"),
            "cpu_s_total": cpu,
            "cpu_share_of_2_cores": round(cpu / (elapsed * 2), 3) if elapsed else None,
            "cpu_s_per_minute": per_minute,
            "pss_mb_max": max((s["pss_mb"] for s in samples), default=None),
            "pss_mb_max_after_2_min": max((s["pss_mb"] for s in samples if s["t"] > 120), default=None),
            "between_cycles": between,
            "daemon_rss_mb_per_cycle": growth_per_cycle(between, "daemon_rss_mb"),
            "tree_pss_mb_per_cycle": growth_per_cycle(between, "pss_mb"),
            "samples": samples[::5],
            "requests": requests,
            "not_modified": not_modified,
            "stories": stories,
        }


def between_cycles(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per minute, the last sample with no work process alive (the daemon and its zygote
    alone, between one cycle's crawl and feeds and the next): what the tree keeps."""
    out: dict[int, dict[str, Any]] = {}
    for s in samples:
        if s["work_processes"] == 0 and s["t"] >= 60:
            out[int(s["t"] // 60)] = s
    return [{"minute": m, **s} for m, s in sorted(out.items())]


def growth_per_cycle(between: list[dict[str, Any]], key: str) -> float | None:
    """Least-squares MB per minute (one cycle a minute) from the second minute on (the
    first cycle stores every feed's first ten items)."""
    points = [(b["minute"], b[key]) for b in between if b["minute"] >= 2]
    if len(points) < 2:
        return None
    mx, my = statistics.fmean(p[0] for p in points), statistics.fmean(p[1] for p in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / den, 2) if den else None


def daemon_run(
    n: int, minutes: float, work: Path, keep_log: Path | None = None, variants: tuple[str, ...] = ("after",)
) -> list[dict[str, Any]]:
    """The daemon over n feeds on ``* * * * *``, one new item in every feed each minute;
    with two variants, both at once (each its own feeds and store), so that they share
    the machine's load."""
    runs: list[DaemonRun] = []
    try:
        for variant in variants:
            runs.append(DaemonRun(n, work, variant))
        began = time.monotonic()
        end = began + minutes * 60
        next_publish = began + 30
        while time.monotonic() < end and all(r.process.poll() is None for r in runs):
            time.sleep(1)  # PSS peaks last seconds (a cycle's crawl process and worker)
            now = time.monotonic()
            if now >= next_publish:
                for r in runs:
                    r.feeds.publish()
                next_publish += 60
            for r in runs:
                r.sample(now)
        codes = [r.stop() for r in runs]
    except BaseException:
        for r in runs:
            r.stop()
        raise
    return [r.report(minutes, code, keep_log) for r, code in zip(runs, codes, strict=True)]


def print_daemon(runs: list[dict[str, Any]]) -> None:
    print_table(
        "daemon",
        [
            "variant",
            "feeds",
            "cycles",
            "cycle s median / max",
            "skipped",
            "started late",
            "CPU share of 2 cores",
            "PSS MB max (after 2 min)",
            "daemon RSS MB/cycle",
            "tree PSS MB/cycle",
        ],
        [
            [
                d["what"],
                d["feeds"],
                len(d["cycles"]),
                f"{d['cycle_s_median']:.1f} / {d['cycle_s_max']}" if d["cycles"] else "-",
                d["skipped"],
                d["started_late"],
                d["cpu_share_of_2_cores"],
                f"{d['pss_mb_max']} ({d['pss_mb_max_after_2_min']})",
                d["daemon_rss_mb_per_cycle"],
                d["tree_pss_mb_per_cycle"],
            ]
            for d in runs
        ],
    )
    minutes = sorted({b["minute"] for d in runs for b in d["between_cycles"]})
    rows = []
    for d in runs:
        by = {b["minute"]: b for b in d["between_cycles"]}
        for key, label in (
            ("daemon_rss_mb", "daemon RSS"),
            ("zygote_pss_mb", "zygote PSS"),
            ("pss_mb", "tree PSS"),
        ):
            rows.append([f"{label}, {d['variant']}", *(by[m][key] if m in by else "-" for m in minutes)])
    print_table("between cycles (the daemon and its zygote alone), MB, by minute", ["", *minutes], rows)


def items_cycle(n: int, items: int, work: Path) -> dict[str, Any]:
    """One first cycle of ``run --once`` over n feeds of ``items`` items, one rule matching
    every item: how long storing, matching and queueing them all takes (the crawl process,
    from the daemon's log line for the batch) and the whole cycle (with delivery and feeds)."""
    import sqlite3

    feeds = Feeds(n, items)
    server = serve(feeds)
    try:
        tool = Defwatch(work / f"items{n}", feeds, rule=True)
        m = measure(
            [sys.executable, "-m", "scheduler", "-v", "run", "--once"], tool.folder, tool.env, timeout=1800
        )
    finally:
        server.shutdown()
        server.server_close()
    crawl = BATCH_DONE.search(m.stderr)
    with sqlite3.connect(tool.folder / "data" / "defwatch.db") as conn:
        stories = int(conn.execute("select count(*) from stories").fetchone()[0])
        queued = int(conn.execute("select count(*) from deliveries").fetchone()[0])
    alerted = 0
    if (tool.folder / "alerts.jsonl").exists():
        alerted = sum(1 for _ in (tool.folder / "alerts.jsonl").open(encoding="utf-8"))
    shutil.rmtree(tool.folder, ignore_errors=True)
    return {
        "feeds": n,
        "items": n * items,
        "stories": stories,
        "deliveries_queued": queued,
        "alerted_in_cycle": alerted,
        "crawl_s": float(crawl.group(2)) if crawl else None,
        "cycle_wall_s": round(m.wall, 1),
        "cycle_cpu_s": round(m.cpu, 1),
        "pss_mb": round(m.pss_mb, 1),
        "exit": m.code,
    }


class Busy:
    """``n`` processes that only spin, for the length of a run (the machine busy with other
    work), and the one-minute load average sampled every 10 s meanwhile."""

    def __init__(self, n: int) -> None:
        spin = "import os\nos.nice(0)\nwhile True:\n    pass\n"
        self.processes = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(n)]
        self.samples: list[float] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, name="load", daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(10.0):
            self.samples.append(round(os.getloadavg()[0], 2))

    def loads(self) -> list[float]:
        return list(self.samples)

    def stop(self) -> None:
        self.done.set()
        for p in self.processes:
            p.kill()
        for p in self.processes:
            p.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 50, one round")
    parser.add_argument("--sizes", default="50,200,1000", help="feed counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--daemon", action="store_true", help="the daemon run instead")
    parser.add_argument("--feeds", type=int, default=1000, help="feeds of the daemon run")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the daemon run")
    parser.add_argument(
        "--items-cycle", action="store_true", help="one first cycle of --feeds feeds x --items items"
    )
    parser.add_argument("--items", type=int, default=30, help="items per feed of --items-cycle")
    parser.add_argument("--keep-log", type=Path, help="--daemon: copy the daemon's log here")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="--daemon: also the daemon building its feeds in its own process, both at once",
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="run beside N processes that only spin (a busy machine: --busy 8 for load 8 and more)",
    )
    parser.add_argument("--out", help="the JSON file's name under bench/ (default by mode)")
    args = parser.parse_args(argv)
    variants = ("after", "before") if args.compare else ("after",)
    compile_defwatch()
    work = Path(tempfile.mkdtemp(prefix="defwatch-peers-"))
    load_before = os.getloadavg()
    began = time.monotonic()
    busy = Busy(args.busy)
    try:
        if args.items_cycle:
            print(f"defwatch run --once, {args.feeds} feeds x {args.items} new items ...", flush=True)
            doc = {"bench": "peers-items", "items_cycle": items_cycle(args.feeds, args.items, work)}
            print(json.dumps(doc["items_cycle"], indent=2))
            name = "peers.items.json"
        elif args.daemon:
            both = " and ".join(VARIANTS[v] for v in variants)
            print(
                f"defwatch run, {args.feeds} feeds on '* * * * *' for {args.minutes:g} min ({both}) ...",
                flush=True,
            )
            runs = daemon_run(args.feeds, args.minutes, work, args.keep_log, variants)
            doc: dict[str, Any] = {"bench": "peers-daemon", "daemon": runs}
            print_daemon(runs)
            name = "peers.daemon.json"
        else:
            sizes = [50] if args.quick else [int(x) for x in args.sizes.split(",")]
            rounds = 1 if args.quick else args.rounds
            exe = install_urlwatch()
            rows = side_by_side(sizes, rounds, exe, work)
            summary = ratios(rows)
            print_ratios(summary)
            doc = {"bench": "peers", "rows": rows, "summary": summary}
            name = "peers.quick.json" if args.quick else "peers.json"
    finally:
        busy.stop()
        shutil.rmtree(work, ignore_errors=True)
    doc.update(
        {
            "machine": machine(),
            "busy_processes": args.busy,
            "load_during": busy.loads(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "seconds": round(time.monotonic() - began, 1),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "self_cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
        }
    )
    name = args.out or name
    (HERE / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote bench/{name}; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    during = busy.loads()
    if during:
        print(
            f"load average during the run (every 10 s): min {min(during):.2f}, "
            f"median {statistics.median(during):.2f}, max {max(during):.2f}; {args.busy} busy processes beside"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
