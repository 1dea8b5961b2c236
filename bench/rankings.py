"""Bench: one story's rank history (store.rankings.rank_history) when a window has 10,000
stored snapshots, i.e. about 104 days of crawling every 15 minutes.

Builds a temporary SQLite store through the real path (the ingest step: a snapshot saved,
its movements recorded), with lists that churn like the real ones: stories enter
low, climb, fall and leave, one story stays listed throughout (the worst case for the
query: 10,000 rows). Then times the history query for that story and for a typical one
(wall clock and CPU), shows SQLite's plan (an index search, not a scan), prints a table
and writes it as JSON next to this file (rankings.json, rankings.quick.json). Exits 1
when the plan scans ranking_entries or a median CPU time is not under the budget.

    python bench/rankings.py            # 10,000 snapshots in each of the three windows
    python bench/rankings.py --quick    # 10,000 snapshots of the 24h window only, fewer runs
    python bench/rankings.py --no-cache # build the store afresh

The built store is kept in ~/.cache/defwatch-bench/ (bench/_cache.py: under a key of the
schema, GENERATOR and the code that builds it) and copied from there on the next run; the
query is timed on the copy, opened afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _cache
from core.config import load_config
from core.model import RankingSnapshot
from ingest import Ingest
from store import Store
from store import rankings as rk

BUDGET_MS = 50.0
GENERATOR = 1  # raise when build() makes another store from the same code
LIST_SIZE = 10
STICKY = "https://j-defense.example/docs/mod/000001.html"
START = datetime(2025, 7, 1, tzinfo=UTC)


def churn(rng: random.Random, listed: list[str], next_id: list[int]) -> list[str]:
    """The next list: a neighbour swap or two, sometimes a newcomer at a low rank and the
    last one out; the sticky story is never dropped."""
    out = list(listed)
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    if rng.random() < 0.1:
        next_id[0] += 1
        leaving = next(u for u in reversed(out) if u != STICKY)
        out.remove(leaving)
        out.insert(rng.randint(LIST_SIZE // 2, LIST_SIZE - 1), story_url(next_id[0]))
    return out


def story_url(n: int) -> str:
    return f"https://j-defense.example/docs/mod/{n:06d}.html"


def build(store: Store | Ingest | None, windows: list[str], snapshots: int, seed: int = 7) -> dict[str, int]:
    """Save the lists (through ``store``; None: only count them) and count each story's
    appearances."""
    counts: Counter[str] = Counter()
    for window in windows:
        rng = random.Random(f"{seed}-{window}")
        next_id = [100]
        listed = [STICKY] + [story_url(n) for n in range(2, LIST_SIZE + 1)]
        for i in range(snapshots):
            listed = churn(rng, listed, next_id)
            counts.update(listed)
            if store is None:
                continue
            store.save_ranking_snapshot(
                RankingSnapshot.of(
                    "jdefense",
                    window,
                    [{"rank": r, "url": u, "title": f"記事 {u[-11:-5]}"} for r, u in enumerate(listed, 1)],
                    taken_at=START + timedelta(minutes=15 * i),
                )
            )
    return counts


def time_query(store: Store, url: str, window: str, runs: int) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU milliseconds of each run, and the rows the query returned."""
    rows = 0
    wall, cpu = [], []
    rk.rank_history(store, url, window)  # warm the page cache, as a live store is
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        rows = len(rk.rank_history(store, url, window))
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return wall, cpu, rows


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one window, fewer timed runs")
    parser.add_argument("--snapshots", type=int, default=10_000, help="snapshots per window")
    parser.add_argument(
        "--no-cache", action="store_true", help=f"build the store afresh, not from {_cache.CACHE}"
    )
    args = parser.parse_args(argv)
    windows = ["24h"] if args.quick else ["24h", "1w", "1m"]
    runs = 20 if args.quick else 200

    def make(path: Path) -> None:
        with Store.open(f"sqlite:///{path}") as store:
            build(Ingest(store, load_config(None, environ={})), windows, args.snapshots)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        key = _cache.key(
            f"{GENERATOR};{windows};{args.snapshots};{LIST_SIZE};{STICKY};{START}",
            functions=(churn, story_url, build),
            files=("ingest/__init__.py", "rankings/movements.py"),
        )
        how = _cache.provide(
            f"rankings-{'-'.join(windows)}-{args.snapshots}", key, db, make, not args.no_cache
        )
        build_s = time.perf_counter() - t0
        counts = build(None, windows, args.snapshots)
        store = Store.open(f"sqlite:///{db}")
        typical_url = sorted(counts.items(), key=lambda kv: kv[1])[len(counts) // 2][0]
        cases = {"story listed in every snapshot": STICKY, "typical story": typical_url}
        results = []
        for name, url in cases.items():
            wall, cpu, rows = time_query(store, url, "24h", runs)
            results.append(
                {
                    "case": name,
                    "rows": rows,
                    "median_ms": round(statistics.median(wall), 3),
                    "p95_ms": round(_p95(wall), 3),
                    "max_ms": round(max(wall), 3),
                    "cpu_median_ms": round(statistics.median(cpu), 3),
                }
            )
        plan = rk.rank_history_plan(store, STICKY, "24h")
        events = len(rk.recent_events(store, None, "24h", 10**9))
        store.close()

    scans = [p for p in plan if p.startswith("SCAN") and "ranking_entries" in p]
    report = {
        "bench": "rank_history for one story",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.system()},
        "quick": args.quick,
        "snapshots_per_window": args.snapshots,
        "windows": windows,
        "entries_per_snapshot": LIST_SIZE,
        "movements_24h": events,
        "build_seconds": round(build_s, 1),
        "store": how,
        "runs": runs,
        "budget_ms": BUDGET_MS,
        "results": results,
        "plan": plan,
    }
    print(
        f"rank_history, one story, {args.snapshots:,} snapshots x {len(windows)} window(s) "
        f"({LIST_SIZE} entries each, {events:,} movements in 24h; {how} in {build_s:.1f}s), {runs} runs"
    )
    print(f"{'case':<32} {'rows':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'cpu median ms':>14}")
    for r in results:
        print(
            f"{r['case']:<32} {r['rows']:>6} {r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} "
            f"{r['max_ms']:>8.2f} {r['cpu_median_ms']:>14.2f}"
        )
    print("plan: " + " | ".join(plan))
    out = Path(__file__).with_name("rankings.quick.json" if args.quick else "rankings.json")
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out}")
    # Judged on CPU time: on a busy machine the wall clock also counts other processes.
    worst = max(r["cpu_median_ms"] for r in results)
    if scans or worst >= BUDGET_MS:
        print(f"FAIL: median CPU {worst:.2f} ms (budget {BUDGET_MS:.0f} ms); scans: {scans or 'none'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
