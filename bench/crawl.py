"""Crawl benchmarks on the synthetic site (bench/synthetic_site.py), on 127.0.0.1.

1. **Full crawl**, pages per second (part ``loopback``): the ``jdefense`` spider on a site
   whose section page links every article, and the ``feed`` spider (``fetch_articles =
   true``) on a feed that lists every article, each with the whole pipeline (extraction,
   the store, link detection, the alert outbox with three rules), against a bare Scrapy
   spider that fetches the very URLs the defwatch spider fetched (read from the server's
   log) and does nothing with them: same Scrapy settings (``crawler.runner.scrapy_settings``
   of the same configuration: concurrency, no delay, autothrottle off, robots.txt), no
   pipeline, no defwatch middleware. Runs alternate (defwatch, bare, defwatch, bare, ...)
   in one invocation; the median of each is kept. Pages per second = responses / Scrapy's
   ``elapsed_time_seconds`` (spider opened to closed) for both.
   Part ``50ms``: the same with a server that answers after 50 ms (like a site across the
   network) and defwatch's default ``concurrency_per_domain = 2``; the server reports the
   most requests it had in flight at once. CPU per page is reported for the crawling
   process and for its page worker (crawler.worker: the process that reads article pages
   and stores stories) apart. Part ``stages``: CPU per article page of each step defwatch
   adds to a fetch, measured in this process.
2. **Incremental crawl** (part ``incremental``): N articles already stored (N = 1,000 and
   20,000; the store is filled with ``Store.save_story``), k new ones published on the site
   (k = 0, 5, 50): requests the crawl made, the server's count, and wall time.

Every crawl runs in a child process of this script (Scrapy's reactor does not restart)
through ``crawler.runner.crawl``, the function ``defwatch crawl`` calls.

    python bench/crawl.py            # 5,000 / 2,000 pages x 3; 300 at 50 ms; N = 1k, 20k
    python bench/crawl.py --quick    # 300 pages x 1; k = 0, 50; N = 1k, 5k; jdefense only
    python bench/crawl.py --only 50ms incremental   # some parts; the others kept from crawl.json

Prints tables and writes bench/crawl.json (crawl.quick.json). Exits 1 when a target is
missed: pipeline >= 80% of bare pages/s, requests = k + a constant at both sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from synthetic_site import FIRST_ID, SyntheticSite, machine, make_article, print_table  # noqa: E402

TARGET_RATIO = 0.80
SOURCES = {"jdefense": "jdefense", "feed": "feed"}  # source name -> kind

CONFIG = """\
[store]
url = "sqlite:///{db}"

[crawl]
allow_private = true
concurrency_per_domain = {concurrency}
autothrottle = false
download_delay = "0s"
timeout = "30s"

[scheduler]
crawl_timeout = "15m"

[feeds]
dir = "{folder}/public"

[[sources]]
name = "{name}"
kind = "{kind}"
url = "{url}"
{options}

[[rules]]
name = "ships"
keywords = ["護衛艦", "艦艇"]
notify = ["file"]

[[rules]]
name = "missiles"
keywords = ["ミサイル"]
notify = ["file"]

[[rules]]
name = "personnel"
keywords = ["人事"]
fields = ["title"]
notify = ["file"]

[channels.file]
type = "file"
path = "{folder}/alerts.jsonl"
"""

OPTIONS = {"jdefense": 'sections = ["mod"]', "feed": "fetch_articles = true"}


def write_config(folder: Path, db: Path, name: str, url: str, concurrency: int) -> Path:
    path = folder / f"{db.stem}.toml"
    text = CONFIG.format(
        db=db,
        folder=folder,
        concurrency=concurrency,
        name=name,
        kind=SOURCES[name],
        url=url,
        options=OPTIONS[name],
    )
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Child processes: one crawl each, stats as one JSON line on stdout
# --------------------------------------------------------------------------------------


def child_full(config_path: str, source: str) -> dict[str, Any]:
    """The defwatch crawl of one source, as ``defwatch crawl SOURCE`` runs it."""
    from core.config import load_config
    from crawler.runner import crawl
    from scheduler.progress import CrawlProgress

    class Watch(CrawlProgress):
        """Keeps the crawler crawler.runner hands to its ``progress``, and watches nothing
        (as a daemon's crawl child, whose progress is off)."""

        crawler: Any = None

        def watch(self, name: str, crawler: Any) -> None:
            self.crawler = crawler

    config = load_config(config_path)
    watch = Watch()
    summaries = crawl(config, [source], progress=watch)
    stats = watch.crawler.stats.get_stats()
    return {
        "outcome": summaries[0].outcome,
        "reason": summaries[0].reason,
        "new_stories": summaries[0].new_stories,
        "known_skipped": summaries[0].known_skipped,
        **_scrapy_stats(stats),
        **_cpu(),
    }


def _cpu() -> dict[str, float]:
    """CPU seconds of this (crawling) process, and of the page worker it started and waited
    for (crawler.worker), which is its only child."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    worker = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "process_cpu_s": round(own.ru_utime + own.ru_stime, 3),
        "worker_cpu_s": round(worker.ru_utime + worker.ru_stime, 3),
    }


def child_bare(config_path: str, urls_file: str) -> dict[str, Any]:
    """A bare Scrapy spider: the same settings, no pipeline, callbacks that do nothing."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from core.config import load_config
    from crawler.runner import scrapy_settings

    urls = Path(urls_file).read_text().split()

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, callback=self.parse)

        def parse(self, response: Any) -> None:
            return None

    settings = scrapy_settings(load_config(config_path))
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
    settings.set("SPIDER_MODULES", [], priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    return {"outcome": "ok", **_scrapy_stats(crawler.stats.get_stats()), **_cpu()}


def _scrapy_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": int(stats.get("downloader/request_count", 0)),
        "responses": int(stats.get("downloader/response_count", 0)),
        "bytes": int(stats.get("downloader/response_bytes", 0)),
        "elapsed_s": float(stats.get("elapsed_time_seconds", 0.0)),
        "items": int(stats.get("item_scraped_count", 0)),
    }


@dataclass
class Run:
    """One crawl child: its JSON line plus what the parent saw."""

    stats: dict[str, Any]
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    peak_in_flight: int | None = None

    @property
    def pages_per_s(self) -> float:
        return self.stats["responses"] / self.stats["elapsed_s"] if self.stats["elapsed_s"] else 0.0


def run_child(args: list[str], site: SyntheticSite, folder: Path) -> Run:
    before = os.times()
    server_before = site.cpu_seconds()
    clock = time.monotonic()
    done = subprocess.run(
        [sys.executable, __file__, "_child", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "DEFWATCH_PROGRESS": "off"},
    )
    wall = time.monotonic() - clock
    after = os.times()
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"crawl child {args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Run(stats, wall, cpu, site.cpu_seconds() - server_before)


# --------------------------------------------------------------------------------------
# 1. Full crawl: defwatch vs bare Scrapy
# --------------------------------------------------------------------------------------


def full_crawl(
    name: str, pages: int, repeats: int, concurrency: int, folder: Path, latency: float = 0.0
) -> dict[str, Any]:
    with SyntheticSite(pages, archive=True, latency=latency) as site:
        url = site.jdefense if name == "jdefense" else site.feed
        port = "jdefense" if name == "jdefense" else "feed"
        full: list[Run] = []
        bare: list[Run] = []
        for i in range(repeats):
            db = folder / f"full-{name}-{i}.db"
            config = write_config(folder, db, name, url, concurrency)
            site.clear()
            full.append(run_child(["full", str(config), name], site, folder))
            requested = [
                path for p, path, _ in site.requests(clear=True) if p == port and path != "/robots.txt"
            ]
            full[-1].peak_in_flight = site.peak_in_flight if latency else None
            base = url.split("/", 3)
            urls_file = folder / f"urls-{name}.txt"
            urls_file.write_text("\n".join(f"{base[0]}//{base[2]}{path}" for path in requested) + "\n")
            bare.append(run_child(["bare", str(config), str(urls_file)], site, folder))
            site.requests(clear=True)
            bare[-1].peak_in_flight = site.peak_in_flight if latency else None
    f = statistics.median(r.pages_per_s for r in full)
    b = statistics.median(r.pages_per_s for r in bare)

    def per_page(runs: list[Run], key: str) -> float:
        return round(statistics.median(r.stats[key] / r.stats["responses"] * 1000 for r in runs), 2)

    row = {
        "spider": name,
        "pages": full[0].stats["responses"],
        "concurrency": concurrency,
        "server_latency_ms": round(latency * 1000),
        "repeats": repeats,
        "defwatch_pages_per_s": round(f, 1),
        "bare_pages_per_s": round(b, 1),
        "ratio": round(f / b, 3) if b else None,
        "target_ratio": TARGET_RATIO,
        "met": bool(b) and f / b >= TARGET_RATIO,
        # CPU per page: defwatch's crawling process and its page worker, and the bare spider
        "cpu_ms_per_page": {
            "crawling_process": per_page(full, "process_cpu_s"),
            "worker": per_page(full, "worker_cpu_s"),
            "bare_scrapy": per_page(bare, "process_cpu_s"),
        },
        "defwatch_peak_in_flight": max((r.peak_in_flight or 0) for r in full) or None,
        "bare_peak_in_flight": max((r.peak_in_flight or 0) for r in bare) or None,
        "defwatch_runs": [_run_doc(r) for r in full],
        "bare_runs": [_run_doc(r) for r in bare],
    }
    bad = [r.stats for r in full if r.stats["outcome"] not in ("ok", "degraded")]
    if bad:
        row["problems"] = bad
    return row


def _run_doc(r: Run) -> dict[str, Any]:
    return {
        **r.stats,
        "pages_per_s": round(r.pages_per_s, 1),
        "wall_s": round(r.wall_s, 2),
        "crawl_cpu_s": round(r.cpu_s, 2),
        "server_cpu_s": round(r.server_cpu_s, 2),
        "peak_in_flight": r.peak_in_flight,
    }


# --------------------------------------------------------------------------------------
# 2. Incremental crawl
# --------------------------------------------------------------------------------------


def prefill(db: Path, site: SyntheticSite, name: str, count: int, link_index: bool) -> float:
    """Store articles 1..count of the site as ``name`` had crawled them; seconds taken.

    ``link_index``: through the link-detection hook, as a crawl would have stored them
    (2-3 ms a story); without it the index is only initialised (so the crawl does not
    rebuild it) and the stored stories are not in it (1 ms a story)."""
    from core.text import summarize
    from store import Store, StoryIn
    from store.copies import CopyDetector

    clock = time.monotonic()
    port = "jdefense" if name == "jdefense" else "feed"
    store = Store.open(f"sqlite:///{db}")
    detector = CopyDetector.install(store)
    with store.transaction() as conn:
        for n in range(FIRST_ID, FIRST_ID + count):
            a = make_article(n)
            body = "\n".join(a.body)
            story = StoryIn(
                url=site.article_url(n, port),
                source=name,
                title=a.title,
                published=a.published,
                body=body,
                summary=summarize(body),
                kind="article" if name == "jdefense" else "item",
                section=a.section if name == "jdefense" else None,
                complete=True,
                extra={"article_id": a.id} if name == "jdefense" else {},
            )
            result = store.save_story(story, conn)
            if link_index:  # as the ingest step links a saved story
                detector(conn, store.story_row(conn, result.story_id), result)
    store.close()
    return time.monotonic() - clock


def incremental(
    name: str, sizes: list[int], ks: list[int], concurrency: int, link_index: bool, folder: Path
) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        with SyntheticSite(size) as site:
            url = site.jdefense if name == "jdefense" else site.feed
            base = folder / f"known-{name}-{size}.db"
            fill_s = prefill(base, site, name, size, link_index)
            for k in ks:
                site.reset()
                db = folder / f"inc-{name}-{size}-{k}.db"
                shutil.copyfile(base, db)
                config = write_config(folder, db, name, url, concurrency)
                if k:
                    site.publish(k)
                site.clear()
                run = run_child(["full", str(config), name], site, folder)
                served = len(site.requests(clear=True))
                rows.append(
                    {
                        "spider": name,
                        "known": size,
                        "new": k,
                        "requests": run.stats["requests"],
                        "served": served,
                        "constant": run.stats["requests"] - k,
                        "new_stories": run.stats["new_stories"],
                        "known_skipped": run.stats["known_skipped"],
                        "outcome": run.stats["outcome"],
                        "crawl_s": round(run.stats["elapsed_s"], 2),
                        "wall_s": round(run.wall_s, 2),
                        "fill_s": round(fill_s, 1),
                    }
                )
                db.unlink()
            base.unlink()
    return rows


def incremental_verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests = k + c with one c for every k and N (per spider), and every new story found."""
    out = {}
    for name in sorted({r["spider"] for r in rows}):
        mine = [r for r in rows if r["spider"] == name]
        constants = sorted({r["constant"] for r in mine})
        found = all(r["new_stories"] == r["new"] for r in mine)
        out[name] = {"constants": constants, "all_new_found": found, "met": len(constants) == 1 and found}
    return out


# --------------------------------------------------------------------------------------
# Where a page's time goes (in this process, no HTTP): CPU per page by stage
# --------------------------------------------------------------------------------------


def stages(count: int, folder: Path) -> dict[str, float]:
    """CPU milliseconds per article page for each step the pipeline adds to a fetch."""
    from core.config import load_config
    from core.dates import parse_era_dates
    from core.text import summarize
    from crawler.extract import extract_article, read_feed_article
    from crawler.extract_article import parse_page, read_article, read_ranking
    from crawler.jdefense_read import ARTICLE_PATH, RANKING_HEADING, RANKING_TABS
    from imitations.jdefense import data, render
    from ingest import Ingest
    from store import Store, StoryIn

    base = "http://127.0.0.1:9"
    articles = [make_article(n) for n in range(FIRST_ID, FIRST_ID + count)]
    ranking = {w: articles[:10] for w in data.WINDOWS}
    html = [render.article_page(a, ranking, base) for a in articles]

    def accept(url: str) -> bool:
        return ARTICLE_PATH.match(url.removeprefix(base)) is not None

    out: dict[str, float] = {}

    def timed(label: str, step: Any) -> list[Any]:
        clock = time.process_time()
        results = [step(i) for i in range(count)]
        out[label] = round((time.process_time() - clock) / count * 1000, 3)
        return results

    pages = timed("jdefense: parse_page", lambda i: parse_page(html[i], base + articles[i].path))
    blocks = timed(
        "jdefense: read_ranking",
        lambda i: read_ranking(
            pages[i], heading_words=RANKING_HEADING, tab_labels=RANKING_TABS, accept=accept
        ),
    )
    timed(  # an article page's block in the page worker: its bounds, left out of the body
        "jdefense: read_ranking, bounds only (checks=False, as the worker reads it)",
        lambda i: read_ranking(
            pages[i], heading_words=RANKING_HEADING, tab_labels=RANKING_TABS, accept=accept, checks=False
        ),
    )
    timed(
        "jdefense: read_article, own reading only (fallbacks=False)",
        lambda i: read_article(pages[i], exclude=blocks[i].elements(), fallbacks=False),
    )
    timed(
        "jdefense: read_article, full-mode check (thorough=True)",
        lambda i: read_article(pages[i], exclude=blocks[i].elements(), thorough=True),
    )
    fields = timed(
        "jdefense: read_article (as crawled: fast-mode check)",
        lambda i: read_article(pages[i], exclude=blocks[i].elements()),
    )
    timed(
        "jdefense: era dates + summary",
        lambda i: (parse_era_dates(fields[i].body), summarize(fields[i].body)),
    )
    timed(
        "feed: trafilatura full mode, text only (before 2026-12-05)",
        lambda i: extract_article(
            html[i].encode(), base + articles[i].path, metadata=False, title=fields[i].title
        ),
    )
    timed(  # the feed's <description> is the first paragraph (synthetic_site.rss)
        "feed: read_feed_article, text only (as crawled: fast mode unless doubted)",
        lambda i: read_feed_article(
            html[i].encode(),
            base + articles[i].path,
            metadata=False,
            title=fields[i].title,
            summary=summarize(articles[i].body[0]),
        ),
    )
    timed(
        "feed: trafilatura fast mode alone, text only",
        lambda i: extract_article(
            html[i].encode(), base + articles[i].path, metadata=False, title=fields[i].title, fast=True
        ),
    )
    timed(
        "feed: trafilatura with metadata",
        lambda i: extract_article(html[i].encode(), base + articles[i].path),
    )
    config_path = write_config(folder, folder / "stages.db", "jdefense", base + "/", 2)
    for hooks in (False, True):
        store = Store.open(f"sqlite:///{folder}/stages-{int(hooks)}.db")
        sink: Any = Ingest(store, load_config(config_path)) if hooks else store

        def save(i: int, sink: Any = sink) -> Any:
            f = fields[i]
            story = StoryIn(
                url=base + articles[i].path,
                source="jdefense",
                title=f.title or "",
                published=f.published,
                body=f.body,
                summary=summarize(f.body),
                section="mod",
            )
            return sink.save_story(story)

        timed("store: save_story, " + ("ingest: links + outbox" if hooks else "store only"), save)
        store.close()
    return out


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


PARTS = ("loopback", "50ms", "stages", "incremental")


def print_full(title: str, rows: list[dict[str, Any]]) -> None:
    print_table(
        title,
        [
            "spider",
            "server",
            "conc.",
            "in flight",
            "pages",
            "defwatch p/s",
            "bare Scrapy p/s",
            "ratio",
            "target",
            "met",
            "CPU ms/page: crawl + worker / bare",
        ],
        [
            [
                r["spider"],
                f"+{r['server_latency_ms']} ms" if r["server_latency_ms"] else "instant",
                r["concurrency"],
                "/".join(str(r[k]) for k in ("defwatch_peak_in_flight", "bare_peak_in_flight") if r.get(k))
                or "-",
                r["pages"],
                r["defwatch_pages_per_s"],
                r["bare_pages_per_s"],
                r["ratio"],
                f">= {TARGET_RATIO:.2f}",
                r["met"],
                "{crawling_process} + {worker} / {bare_scrapy}".format(**r["cpu_ms_per_page"])
                if "cpu_ms_per_page" in r
                else "-",
            ]
            for r in rows
        ],
    )


def print_incremental(rows: list[dict[str, Any]], verdict: dict[str, Any]) -> None:
    print_table(
        "Incremental crawl: k new articles among N known",
        [
            "spider",
            "N known",
            "k new",
            "requests",
            "served",
            "requests - k",
            "new found",
            "crawl s",
            "wall s",
        ],
        [
            [
                r["spider"],
                f"{r['known']:,}",
                r["new"],
                r["requests"],
                r["served"],
                r["constant"],
                r["new_stories"],
                r["crawl_s"],
                r["wall_s"],
            ]
            for r in rows
        ],
    )
    for name, v in verdict.items():
        print(f"  {name}: requests - k = {v['constants']} -> {'met' if v['met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        mode, config, arg = argv[1:4]
        result = child_full(config, arg) if mode == "full" else child_bare(config, arg)
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small crawls, one repeat (for make bench)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="[crawl] concurrency_per_domain on loopback (default 8)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=PARTS, help="run these parts; the others are kept from the last report"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    parts = args.only or [p for p in PARTS if not (quick and p == "50ms")]
    pages = {"jdefense": 300, "feed": 300} if quick else {"jdefense": 5000, "feed": 2000}
    repeats = 1 if quick else 3
    sizes = [1_000, 5_000] if quick else [1_000, 20_000]
    ks = [0, 50] if quick else [0, 5, 50]
    out = HERE / ("crawl.quick.json" if quick else "crawl.json")
    report: dict[str, Any] = {}
    if args.only and out.exists():
        report = json.loads(out.read_text(encoding="utf-8"))
    report.update(
        {
            "bench": "crawl",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "profile": "quick" if quick else "full",
            "command": "python bench/crawl.py" + (" --quick" if quick else ""),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        }
    )
    with tempfile.TemporaryDirectory(prefix="defwatch-bench-crawl-") as tmp:
        folder = Path(tmp)
        if "loopback" in parts:
            report["full_crawl"] = [
                full_crawl(name, pages[name], repeats, args.concurrency, folder) for name in SOURCES
            ]
        if "50ms" in parts:  # like a site across the network, at defwatch's default concurrency
            report["full_crawl_50ms"] = [
                full_crawl(name, 300, 1, 2, folder, latency=0.05) for name in SOURCES
            ]
        if "stages" in parts:
            report["cpu_ms_per_page"] = stages(100 if quick else 300, folder)
        if "incremental" in parts:
            names = ["jdefense"] if quick else list(SOURCES)
            rows = [
                row
                for name in names
                for row in incremental(name, sizes, ks, args.concurrency, link_index=not quick, folder=folder)
            ]
            report["incremental"] = {"rows": rows, "verdict": incremental_verdict(rows)}
    full = report.get("full_crawl", []) + report.get("full_crawl_50ms", [])
    if full:
        print_full(f"Full crawl, pages/s (no delay, autothrottle off; median of {repeats}; 127.0.0.1)", full)
    if "cpu_ms_per_page" in report:
        print_table(
            "CPU per article page by step (in-process, no HTTP)",
            ["step", "ms/page"],
            [[k, v] for k, v in report["cpu_ms_per_page"].items()],
        )
    if "incremental" in report:
        print_incremental(report["incremental"]["rows"], report["incremental"]["verdict"])
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ok = all(r["met"] for r in full) and all(
        v["met"] for v in report.get("incremental", {}).get("verdict", {}).values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
