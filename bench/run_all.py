"""Run every benchmark script in bench/ and print one combined table (``make bench``).

Each script runs in its own process, one after another (they would skew each other's
timings if run together), with ``--quick`` when this is given. Its JSON report
(``bench/<name>.quick.json`` or ``bench/<name>.json``, written by the script) gives the
figures of the combined table: one row per target, with the figure, the target and whether
it is met. A script this file does not know yet still runs; its row gives its exit status.

    python bench/run_all.py --quick   # 2 minutes on 2 idle cores (make bench)
    python bench/run_all.py           # every full benchmark (about half an hour)

Writes bench/results.json. Exits 1 when a script failed or a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIRST = ["synthetic_site", "crawl", "latency", "memory", "links", "rules", "feeds", "rankings"]
# zoo.py: a table of what was read right; layers.py: import figures (no time measured)
NOT_BENCHES = {"run_all", "zoo", "layers"}
QUICK_BUDGET_S = 180.0
TIMEOUT_S = {"quick": 600, "full": 7200}

Row = dict[str, Any]


def scripts() -> list[str]:
    present = {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_")} - NOT_BENCHES
    return [n for n in FIRST if n in present] + sorted(present - set(FIRST))


def report_of(name: str, quick: bool, since: float) -> tuple[Path | None, dict[str, Any] | None]:
    """The JSON the script wrote during this run (quick name first when quick)."""
    names = [f"{name}.quick.json", f"{name}.json"] if quick else [f"{name}.json"]
    for candidate in names:
        path = HERE / candidate
        if path.exists() and path.stat().st_mtime >= since:
            try:
                return path, json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                return path, None
    return None, None


# --------------------------------------------------------------------------------------
# What each report says, as rows: measure, figure, target, met
# --------------------------------------------------------------------------------------


def _row(measure: str, figure: str, target: str = "", met: bool | None = None) -> Row:
    return {"measure": measure, "figure": figure, "target": target, "met": met}


def synthetic_site_rows(doc: dict[str, Any]) -> list[Row]:
    best = max(doc["runs"], key=lambda r: r["requests_per_s"])
    return [
        _row(
            "synthetic site: requests/s it serves",
            f"{best['requests_per_s']:,} req/s using {best['server_cpu_share']} of a core",
            "not the bottleneck",
        )
    ]


def crawl_rows(doc: dict[str, Any]) -> list[Row]:
    rows = []
    for r in doc.get("full_crawl", []):
        where = f"+{r['server_latency_ms']} ms server" if r.get("server_latency_ms") else "instant server"
        rows.append(
            _row(
                f"full crawl {r['spider']}, {r['pages']} pages ({where}, concurrency {r['concurrency']})",
                f"{r['defwatch_pages_per_s']} vs bare {r['bare_pages_per_s']} p/s = {r['ratio']:.2f}",
                f">= {r['target_ratio']:.2f} of bare",
                r["met"],
            )
        )
    inc = doc.get("incremental")
    if inc:
        for name, verdict in inc["verdict"].items():
            mine = [r for r in inc["rows"] if r["spider"] == name]
            sizes = "/".join(f"{n // 1000}k" for n in sorted({r["known"] for r in mine}))
            ks = ",".join(str(k) for k in sorted({r["new"] for r in mine}))
            walls = [r["wall_s"] for r in mine]
            rows.append(
                _row(
                    f"incremental {name}: requests - k, k={ks}, N={sizes}",
                    f"{verdict['constants']} (wall {min(walls):.1f}-{max(walls):.1f} s)",
                    "one constant",
                    verdict["met"],
                )
            )
    return rows


def latency_rows(doc: dict[str, Any]) -> list[Row]:
    return [
        _row(
            f"detection latency, schedule {doc['schedule']!r}, {doc['trials']} trials",
            f"median {doc['median_s']} s, worst {doc['worst_s']} s",
            f"<= {doc['limit_s']:g} s",
            doc["met"],
        )
    ]


def memory_rows(doc: dict[str, Any]) -> list[Row]:
    return [
        _row(
            f"daemon RSS over {doc['cycles']} cycles",
            f"{doc['growth_mb']:+.1f} MB ({doc['rss_after_first_cycle_mb']} -> {doc['rss_last_mb']} MB)",
            f"< {doc['limit_mb']:g} MB growth",
            doc["met"],
        )
    ]


def links_rows(doc: dict[str, Any]) -> list[Row]:
    figures = ", ".join(f"{r['detect_median_ms']} ms at {r['stored']:,}" for r in doc["rows"])
    return [
        _row(
            "link detection per story (median)",
            f"{figures} (x{doc['median_ratio']})",
            f"flat (x{doc['flat_limit']:g} at most)",
            doc["median_ratio"] <= doc["flat_limit"],
        )
    ]


def rules_rows(doc: dict[str, Any]) -> list[Row]:
    limit = doc.get("limit_s")
    return [
        _row(
            f"{doc['rules']:,} rules x {doc['stories']:,} stories matching (CPU)",
            f"{doc['match_cpu_s']} s",
            f"< {limit:g} s" if limit else "1,000 x 10,000 < 1 s (full run)",
            doc["match_cpu_s"] < limit if limit else None,
        )
    ]


def feeds_rows(doc: dict[str, Any]) -> list[Row]:
    # judged on CPU time, as bench/feeds.py does: other processes stretch the wall time
    rows = []
    for result in doc["results"]:
        big = result["stories"] >= 100_000
        for case, figures in result["cases"].items():
            if case.startswith("full"):
                rows.append(
                    _row(
                        f"feeds: {case}, {result['stories']:,} stories",
                        f"{figures['cpu_median_s']} CPU-s, wall {figures['median_s']} s (median of {figures['runs']})",
                        f"< {doc['budget_s']:g} CPU-s" if big else "",
                        figures["cpu_median_s"] < doc["budget_s"] if big else None,
                    )
                )
    return rows


def rankings_rows(doc: dict[str, Any]) -> list[Row]:
    worst = doc["results"][0]  # judged on CPU time, as bench/rankings.py does
    return [
        _row(
            f"rank history, {doc['snapshots_per_window']:,} snapshots, {worst['case']}",
            f"{worst['cpu_median_ms']} CPU-ms, wall {worst['median_ms']} ms (medians)",
            f"< {doc['budget_ms']:g} CPU-ms",
            worst["cpu_median_ms"] < doc["budget_ms"],
        )
    ]


def peers_rows(doc: dict[str, Any]) -> list[Row]:
    rows = []
    for e in doc.get("summary", []):
        if e["cycle"] != "unchanged":
            continue
        cpu = e.get("ratio_cpu_s") or [None, None, None]
        rows.append(
            _row(
                f"unchanged run --once, {e['feeds']} feeds: CPU defwatch / urlwatch",
                f"{e['defwatch_cpu_s']:.2f} / {e['urlwatch_cpu_s']:.2f} s (x{cpu[1]})",
                "<= 2x",
                cpu[1] is not None and cpu[1] <= 2,
            )
        )
        rows.append(
            _row(
                f"requests, unchanged cycle, {e['feeds']} feeds",
                f"{e['defwatch_requests']:g}",
                "one per feed",
                e["defwatch_requests"] == e["feeds"],
            )
        )
    return rows


def web_rows(doc: dict[str, Any]) -> list[Row]:
    rows = []
    for path, page in doc["pages"].items():
        if path in ("/", "/search?q=ASEAN"):
            rows.append(
                _row(
                    f"web page {path}, {doc['count']:,} stories, {doc['runs']} requests",
                    f"median {page['median_ms']} ms, worst {page['worst_ms']} ms",
                    "median < 100 ms, worst < 300 ms",
                    page["status"] == 200 and page["median_ms"] < 100 and page["worst_ms"] < 300,
                )
            )
    return rows


ADAPTERS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "synthetic_site": synthetic_site_rows,
    "crawl": crawl_rows,
    "peers": peers_rows,
    "latency": latency_rows,
    "memory": memory_rows,
    "links": links_rows,
    "rules": rules_rows,
    "feeds": feeds_rows,
    "rankings": rankings_rows,
    "web": web_rows,
}


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def run(name: str, quick: bool) -> dict[str, Any]:
    argv = [sys.executable, str(HERE / f"{name}.py")] + (["--quick"] if quick else [])
    started = time.time()
    clock = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S["quick" if quick else "full"],
            stdin=subprocess.DEVNULL,
            cwd=HERE.parent,
        )
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = None, f"timed out after {exc.timeout:.0f} s"
    seconds = time.monotonic() - clock
    path, doc = report_of(name, quick, started)
    rows: list[Row] = []
    problem = None
    if doc is not None and name in ADAPTERS:
        try:
            rows = ADAPTERS[name](doc)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            problem = f"report not understood ({type(exc).__name__}: {exc})"
    if not rows:
        ran = "ran" if code in (0, 1) else f"FAILED (exit {code})"
        rows = [_row(f"{name}: {ran}", problem or (f"see {path.name}" if path else "no JSON report"))]
    for row in rows:
        row["bench"] = name
    result: dict[str, Any] = {
        "bench": name,
        "command": " ".join(["python", f"bench/{name}.py"] + (["--quick"] if quick else [])),
        "exit": code,
        "seconds": round(seconds, 1),
        "report": path.name if path else None,
        "rows": rows,
    }
    if code not in (0, 1):
        result["output_tail"] = output.strip().splitlines()[-20:]
    return result


def print_combined(results: list[dict[str, Any]], total: float, quick: bool) -> None:
    columns = ["bench", "measure", "figure", "target", "met", "s"]
    table = []
    for result in results:
        for i, row in enumerate(result["rows"]):
            met = {True: "yes", False: "NO", None: ""}[row["met"]]
            table.append(
                [
                    result["bench"],
                    row["measure"],
                    row["figure"],
                    row["target"],
                    met,
                    result["seconds"] if i == 0 else "",
                ]
            )
    cells = [columns] + [[str(c) for c in r] for r in table]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    profile = "quick" if quick else "full"
    print(
        f"\ndefwatch benchmarks ({profile}): {os.cpu_count()} cores, Python {platform.python_version()}, {total:.0f} s"
    )
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the quick variant of every script")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these scripts")
    args = parser.parse_args(argv)
    names = [n for n in scripts() if not args.only or n in args.only]
    clock = time.monotonic()
    results = []
    for name in names:
        print(f"bench/{name}.py{' --quick' if args.quick else ''} ...", end=" ", flush=True)
        results.append(run(name, args.quick))
        print(f"exit {results[-1]['exit']}, {results[-1]['seconds']:.0f} s", flush=True)
    total = time.monotonic() - clock
    print_combined(results, total, args.quick)
    failed = [r["bench"] for r in results if r["exit"] not in (0, 1)]
    missed = [f"{r['bench']}: {row['measure']}" for r in results for row in r["rows"] if row["met"] is False]
    if args.quick and total > QUICK_BUDGET_S:
        print(f"  the quick profile took {total:.0f} s, over its {QUICK_BUDGET_S:.0f} s budget")
    if failed:
        print(f"  failed: {', '.join(failed)}")
    if missed:
        print(f"  targets missed: {len(missed)}")
    doc = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/run_all.py" + (" --quick" if args.quick else ""),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "profile": "quick" if args.quick else "full",
        "total_s": round(total, 1),
        "failed": failed,
        "missed": missed,
        "results": results,
    }
    (HERE / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
