"""The daemon's resident memory over 200 cycles.

``defwatch run`` (as a user runs it) crawls the synthetic J-Defense site on a six-field
cron schedule that fires every second, so cycles follow each other as fast as a crawl
child can run (``max_instances = 1``: a cycle never overlaps the previous one). Every fifth
cycle an article matching a rule is published, so cycles also store stories, deliver an
alert to a local webhook receiver and rebuild feeds: every path the daemon takes.

After each cycle (its crawl, then delivery and the feed rebuild; sampled when the next
crawl is recorded in the store) the daemon's own resident set (``VmRSS`` of its process;
crawl children are separate processes and end with their cycle), its thread count and its
open file descriptors are sampled.

    python bench/memory.py            # 200 cycles
    python bench/memory.py --quick    # 10 cycles (for make bench)

Prints a table and writes bench/memory.json (memory.quick.json). Exits 1 when the growth
from the first cycle to the last is 10 MB or more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from latency import KEYWORD, DaemonProcess, Receiver, daemon_config, finished_runs, open_store, wait_runs  # noqa: E402
from synthetic_site import SyntheticSite, machine, print_table  # noqa: E402

LIMIT_MB = 10.0
SCHEDULE = "* * * * * *"  # every second: back to back
PUBLISH_EVERY = 5

# One more rule than the latency bench's daemon, so that matching has work to do.
SHIPS_RULE = """
[[rules]]
name = "ships"
keywords = ["護衛艦", "艦艇"]
notify = ["hook"]
"""


def sample(pid: int) -> dict[str, float]:
    """The process's resident set (MB), threads and open file descriptors, from /proc."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {
        "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
        "threads": int(status["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def wait_started(store: Any, daemon: DaemonProcess, count: int, timeout: float) -> None:
    """Until ``count`` crawl runs have started (recorded, finished or not)."""
    deadline = time.monotonic() + timeout
    while len(store.runs("jdefense", limit=count + 5)) < count:
        if not daemon.alive() or time.monotonic() > deadline:
            wait_runs(store, daemon, count, timeout=0)  # raises with the daemon's log
        time.sleep(0.1)


def slope_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares MB per 100 cycles."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 cycles (for make bench)")
    parser.add_argument("--cycles", type=int, help="default 200 (10 with --quick)")
    args = parser.parse_args(argv)
    cycles = args.cycles or (10 if args.quick else 200)
    samples: list[dict[str, Any]] = []
    clock = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="defwatch-bench-memory-") as tmp,
        SyntheticSite(500) as site,
        Receiver() as receiver,
    ):
        folder = Path(tmp)
        config = folder / "defwatch.toml"
        config.write_text(
            daemon_config(
                folder, site.jdefense, SCHEDULE, receiver.url, crawl_timeout="2m", extra_rules=SHIPS_RULE
            ),
            encoding="utf-8",
        )
        with DaemonProcess(folder, config) as daemon:
            pid = daemon.process.pid
            time.sleep(1.0)
            started = sample(pid)
            store = open_store(folder)
            published = 0
            for n in range(1, cycles + 1):
                # A cycle is a crawl, then delivery and feeds; the next crawl starts only
                # after that (one job, max_instances = 1): sample when run n + 1 appears.
                wait_started(store, daemon, n + 1, timeout=180)
                samples.append({"cycle": n, "t": round(time.monotonic() - clock, 1), **sample(pid)})
                if n % PUBLISH_EVERY == 0:
                    site.publish(1, title=f"{KEYWORD} memory-{n}")
                    published += 1
            runs = finished_runs(store)
            store.close()
            code = daemon.stop()
            log_tail = daemon.tail(5)
    first, last = samples[0], samples[-1]
    tenth = samples[min(9, len(samples) - 1)]
    growth = last["rss_mb"] - first["rss_mb"]
    outcomes: dict[str, int] = {}
    for r in runs:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    report: dict[str, Any] = {
        "bench": "daemon memory",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "profile": "quick" if args.quick else "full",
        "command": "python bench/memory.py" + (" --quick" if args.quick else ""),
        "schedule": SCHEDULE,
        "cycles": cycles,
        "seconds": round(time.monotonic() - clock, 1),
        "articles_published": published,
        "alerts_received": len(receiver.received),
        "crawl_outcomes": outcomes,
        "rss_before_first_cycle_mb": round(started["rss_mb"], 1),
        "rss_after_first_cycle_mb": round(first["rss_mb"], 1),
        "rss_after_cycle_10_mb": round(tenth["rss_mb"], 1),
        "rss_last_mb": round(last["rss_mb"], 1),
        "rss_max_mb": round(max(s["rss_mb"] for s in samples), 1),
        "growth_mb": round(growth, 2),
        "growth_from_cycle_10_mb": round(last["rss_mb"] - tenth["rss_mb"], 2),
        "slope_mb_per_100_cycles_after_10": round(
            slope_per_100([(s["cycle"], s["rss_mb"]) for s in samples[9:]]), 2
        ),
        "threads": [first["threads"], last["threads"]],
        "fds": [first["fds"], last["fds"]],
        "limit_mb": LIMIT_MB,
        "met": growth < LIMIT_MB,
        "daemon_exit": code,
        "daemon_log_tail": log_tail,
        "samples": samples,
    }
    marks = sorted({1, 10, 50, 100, 150, cycles} & set(range(1, cycles + 1)))
    print_table(
        f"Daemon resident memory, {cycles} cycles (schedule {SCHEDULE!r}), {report['seconds']:.0f} s",
        ["after cycle", "RSS MB", "threads", "open fds"],
        [
            [m, round(samples[m - 1]["rss_mb"], 1), samples[m - 1]["threads"], samples[m - 1]["fds"]]
            for m in marks
        ],
    )
    print(
        f"  growth cycle 1 -> {cycles}: {growth:+.2f} MB (from cycle 10: "
        f"{report['growth_from_cycle_10_mb']:+.2f} MB, slope {report['slope_mb_per_100_cycles_after_10']:+.2f} "
        f"MB/100 cycles); limit {LIMIT_MB:g} MB -> {'met' if report['met'] else 'NOT met'}; "
        f"crawls {outcomes}, alerts {len(receiver.received)}/{published}, daemon exit {code}"
    )
    out = HERE / ("memory.quick.json" if args.quick else "memory.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
