"""Bench: rebuilding every feed (feeds.build.build_all) with 100,000 stories stored.

Fills an SQLite store with stories of the imitation sites' Japanese text (J-Defense
articles, ministry releases, one in ten a long PDF-like release) spread over four sources
and three years, links one in ten as a copy of another source's story, and stores ranking
lists every hour for a month in each window (through the real movement hook). The
configuration has six rules: common and rare keywords, a title-only rule restricted to two
sources, a regex, an anchored regex (no pre-check possible) and a ranking rule.

The stories go in by bulk INSERT and their copy groups are the links written with them:
copy *detection* is skipped (the store's link index is marked built while it holds no
signature). A feed shows groups as ``story_links`` has them and never reads the index,
so the builds below do the same work; what is skipped is detecting copies for stories
that come later (2 minutes or more at 100k, and at 10k it found 6 more copies beside the
1,011 written). The fill runs in a child process, which checkpoints the WAL and closes the
store; the builds are timed in this process, which opens it afresh, as ``defwatch feeds``
does. A filled store is kept in ~/.cache/defwatch-bench/ (XDG_CACHE_HOME) under a key of
the schema's migration heads, the copy index fingerprint, GENERATOR and the text of the
code and data that make it, and copied from there on the next run (``--no-cache``: fill
afresh). Then times:

- full build into an empty folder (every file written),
- full rebuild of an unchanged store (``defwatch feeds`` again: nothing written),
- ``build_changed`` after a crawl saved 20 stories (what the daemon does after a crawl),
- ``build_changed`` when nothing changed.

    python bench/feeds.py            # 10k and 100k stories, 7 runs each
    python bench/feeds.py --quick    # 100k stories, 3 runs (for `make bench`)
    python bench/feeds.py --no-cache # fill the stores afresh (about 50 s at 100k)

Prints a table and writes it as JSON next to this file (feeds.json, feeds.quick.json).
Exits 1 when the median full rebuild at 100k stories takes BUDGET_S or more of CPU time:
the build runs on one core, so on an idle machine its wall time is its CPU time, while
other processes on the two cores (a test run, a crawl) stretch the wall time without
saying anything about the build. Both are reported. The database is in the page cache,
as it is on a machine that crawls every few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bench import _cache
from core.config import Config, load_config
from core.model import RankingSnapshot
from core.text import normalize, summarize
from feeds.build import build_all, build_changed
from imitations import shared_story
from imitations.jdefense.data import ARTICLES
from ingest import Ingest
from store import Store, StoryIn, links, url_key, utcnow
from store import schema as t

BUDGET_S = 2.0
GENERATOR = 1  # raise when fill() or rank_lists() make another store from the same code
# what the filled store is made of, besides this file (and the migrations, by their heads)
INPUTS = (
    "core/text.py",
    "imitations/jdefense/data.py",
    "imitations/shared_story.py",
    "ingest/__init__.py",
    "rankings/movements.py",
)
PROFILES = {"full": ((10_000, 100_000), 7), "quick": ((100_000,), 3)}
SOURCES = {
    "jdefense": "https://j-defense.ikaros.jp/docs/{section}/{n:07d}.html",
    "mod": "https://www.mod.go.jp/j/press/news/{year}/{n:07d}.html",
    "navalnews": "https://www.navalnews.com/naval-news/{year}/{n:07d}/",
    "asiadefense": "https://asia-defense.example/news/{n:07d}",
}
START = datetime(2023, 1, 1, tzinfo=UTC)
CONFIG = """
[store]
url = "sqlite:///{db}"

[feeds]
dir = "{public}"
max_items = 100

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "https://j-defense.ikaros.jp/"

[[sources]]
name = "mod"
kind = "mod"
url = "https://www.mod.go.jp/"

[[sources]]
name = "navalnews"
kind = "feed"
url = "https://www.navalnews.com/feed/"
timezone = "UTC"

[[sources]]
name = "asiadefense"
kind = "feed"
url = "https://asia-defense.example/feed"

[[rules]]
name = "asean"
keywords = ["ASEAN", "東南アジア諸国連合"]

[[rules]]
name = "jinji"
keywords = ["人事発令"]
fields = ["title"]
sources = ["jdefense", "mod"]

[[rules]]
name = "f35"
regex = "F-35[AB]"

[[rules]]
name = "rare"
keywords = ["極超音速滑空弾", "Hypersonic glide"]

[[rules]]
name = "headline-boeisho"
regex = "^防衛省"
fields = ["title"]

[[rules]]
name = "top3"
on = ["ranking"]
max_rank = 3
"""


def paragraphs() -> list[tuple[str, str]]:
    """(text, normalized text) of every paragraph the imitation sites hold."""
    texts = [p for a in ARTICLES for p in a.body] + shared_story.RELEASE_TEXT.split("\n")
    texts = list(dict.fromkeys(t for t in texts if len(t) > 20))
    return [(p, normalize(p)) for p in texts]


def fill(store: Store, count: int, rng: random.Random) -> None:
    """``count`` stories, one in ten a copy of another source's story a day or two older."""
    pool = paragraphs()
    titles = [(a.title, normalize(a.title)) for a in ARTICLES]
    names = list(SOURCES)
    step = timedelta(days=3 * 365) / count
    rows: list[dict[str, Any]] = []
    copies: list[dict[str, Any]] = []
    by_source: dict[str, list[int]] = {s: [] for s in names}
    with store.transaction() as conn:
        for n in range(1, count + 1):
            source = rng.choice(names)
            long = source == "mod" and rng.random() < 0.3  # a PDF release of several pages
            chosen = rng.sample(pool, rng.randint(25, 40) if long else rng.randint(3, 7))
            title, title_norm = rng.choice(titles)
            title = f"{title} ({n})"
            published = START + step * n
            url = SOURCES[source].format(section=rng.choice(("mod", "world")), year=published.year, n=n)
            body = "\n".join(p for p, _ in chosen)
            rows.append(
                {
                    "id": n,
                    "url": url,
                    "url_key": url_key(url),
                    "source": source,
                    "kind": "pdf" if long else "article",
                    "section": "mod",
                    "title": title,
                    "published": published,
                    "fetched": published + timedelta(minutes=10),
                    "updated": published + timedelta(minutes=10),
                    "summary": summarize(chosen[0][0]),
                    "body": body,
                    "text_norm": " ".join([f"{title_norm} ({n})", *(q for _, q in chosen)]),
                    "content_hash": f"{n:064x}",
                    "complete": True,
                    "extra": {},
                }
            )
            others = [s for s in names if s != source and by_source[s]]
            if rng.random() < 0.1 and others:
                origin = by_source[rng.choice(others)][-1]
                copies.append({"origin_id": origin, "copy_id": n, "similarity": 0.8, "linked_at": published})
            else:
                by_source[source].append(n)
            if len(rows) == 5_000:
                conn.execute(insert(t.stories), rows)
                rows = []
        if rows:
            conn.execute(insert(t.stories), rows)
        if copies:
            conn.execute(insert(t.story_links), copies)
        # Copy detection skipped: the index is marked built (with no signature in it), so the
        # ingest step of rank_lists() and later crawls do not rebuild it over every story.
        from store.copies import fingerprint

        links.set_index_fingerprint(conn, fingerprint(), utcnow())


def rank_lists(store: Store, config: Config, rng: random.Random, count: int) -> None:
    """A month of hourly ranking lists per window, through the ingest step (movements)."""
    ingest = Ingest(store, config)
    urls = [SOURCES["jdefense"].format(section="mod", year=2025, n=n) for n in range(count - 200, count)]
    for window in ("24h", "1w", "1m"):
        listed = rng.sample(urls, 10)
        for hour in range(24 * 30):
            if rng.random() < 0.5:
                i = rng.randrange(9)
                listed[i], listed[i + 1] = listed[i + 1], listed[i]
            if rng.random() < 0.2:
                listed[-1] = rng.choice([u for u in urls if u not in listed])
            entries = [{"rank": r, "url": u, "title": f"記事 {u[-12:-5]}"} for r, u in enumerate(listed, 1)]
            ingest.save_ranking_snapshot(
                RankingSnapshot.of("jdefense", window, entries, taken_at=START + timedelta(hours=hour))
            )


def crawl(store: Store, rng: random.Random, first: int) -> None:
    """What one crawl brings: 20 new stories of the sites' text."""
    pool = paragraphs()
    for n in range(first, first + 20):
        chosen = rng.sample(pool, 5)
        store.save_story(
            StoryIn(
                url=SOURCES["jdefense"].format(section="mod", year=2026, n=n),
                source="jdefense",
                title=f"{rng.choice(ARTICLES).title} ({n})",
                published=utcnow(),
                body="\n".join(p for p, _ in chosen),
            )
        )


def timed(runs: int, action: Any, before: Any = None) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run: CPU time says what the build costs when other
    processes share the two cores."""
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return out


def fill_into(db: Path, count: int) -> None:
    """Fill a new store at ``db`` (stories, links, ranking lists) and close it: what the
    child process of filled_store() does."""
    config_path = db.with_name(db.name + ".toml")
    config_path.write_text(CONFIG.format(db=db, public=db.parent / "public"), encoding="utf-8")
    config = load_config(config_path)
    rng = random.Random(count)
    store = Store.open(config.store.url)
    fill(store, count, rng)
    rank_lists(store, config, rng, count)
    store.close()
    config_path.unlink()


def filled_store(count: int, db: Path, cache: bool = True) -> str:
    """Put a filled store of ``count`` stories at ``db`` (bench/_cache.py): a copy of the
    kept one, else filled by a child process, so that the process timing the builds opens
    it afresh. Says which."""

    def make(path: Path) -> None:
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--fill-into",
            str(path),
            "--stories",
            str(count),
        ]
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)

    store_key = _cache.key(
        f"{GENERATOR};{count}", CONFIG, repr(SOURCES), functions=(paragraphs, fill, rank_lists), files=INPUTS
    )
    return _cache.provide(f"feeds-{count}", store_key, db, make, cache)


def measure(count: int, runs: int, folder: Path, cache: bool = True) -> dict[str, Any]:
    rng = random.Random(count + 1)  # the 20-story crawls
    db = folder / f"bench-{count}.db"
    public = folder / f"public-{count}"
    (folder / f"bench-{count}.toml").write_text(CONFIG.format(db=db, public=public), encoding="utf-8")
    config = load_config(folder / f"bench-{count}.toml")
    started = time.perf_counter()
    how = filled_store(count, db, cache)
    fill_s = time.perf_counter() - started
    store = Store.open(config.store.url)
    report = build_all(config, store)  # warms the page cache, writes every file
    cold = timed(1, lambda: build_all(config, store), lambda: _empty(public))
    rebuild = timed(runs, lambda: build_all(config, store))
    next_id = [count + 1]

    def after_crawl() -> None:
        crawl(store, rng, next_id[0])
        next_id[0] += 20

    since: list[datetime] = []
    changed = timed(
        runs, lambda: build_changed(config, store, since[-1]), lambda: (since.append(utcnow()), after_crawl())
    )
    idle = timed(runs, lambda: build_changed(config, store, utcnow()))
    store.close()
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))
    return {
        "stories": count,
        "db_mb": round(size / 1e6, 1),
        "feeds": len(report.built),
        "files": len(report.written) + len(report.unchanged),
        "fill_s": round(fill_s, 1),
        "store": how,
        "cases": {
            "full build, empty folder": _stats(cold),
            "full rebuild, unchanged store": _stats(rebuild),
            "build_changed after a 20-story crawl": _stats(changed),
            "build_changed, nothing changed": _stats(idle),
        },
    }


def _empty(public: Path) -> None:
    for path in sorted(public.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def _stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    walls = [w for w, _ in samples]
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "cpu_median_s": round(statistics.median(c for _, c in samples), 3),
        "runs": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k stories, 3 runs (for make bench)")
    parser.add_argument(
        "--no-cache", action="store_true", help=f"fill the stores afresh, not from {_cache.CACHE}"
    )
    parser.add_argument("--fill-into", type=Path, help=argparse.SUPPRESS)  # the child of filled_store()
    parser.add_argument("--stories", type=int, default=100_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill_into:
        fill_into(args.fill_into, args.stories)
        return 0
    profile = "quick" if args.quick else "full"
    sizes, runs = PROFILES[profile]
    results = []
    with tempfile.TemporaryDirectory(prefix="defwatch-bench-feeds-") as tmp:
        for count in sizes:
            results.append(measure(count, runs, Path(tmp), cache=not args.no_cache))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nfeeds rebuild ({profile}; {os.cpu_count()} cores, load {load:.1f}; {runs} runs; page cache warm)"
    )
    for r in results:
        print(f"{r['stories']:,} stories: store {r['store']} in {r['fill_s']} s")
    print(
        f"{'stories':>8} {'db MB':>7} {'files':>6}  {'case':<38} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}"
    )
    for r in results:
        for case, s in r["cases"].items():
            print(
                f"{r['stories']:>8} {r['db_mb']:>7} {r['files']:>6}  {case:<38} "
                f"{s['median_s']:>9.3f} {s['min_s']:>7.3f} {s['max_s']:>7.3f} {s['cpu_median_s']:>7.3f}"
            )
    out = Path(__file__).with_name("feeds.quick.json" if args.quick else "feeds.json")
    doc = {
        "bench": "rebuild every feed (feeds.build)",
        "when": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.system(),
            "load_1m": round(load, 2),
        },
        "profile": profile,
        "budget_s": BUDGET_S,
        "results": results,
    }
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out}")
    rebuild = results[-1]["cases"]["full rebuild, unchanged store"]
    if rebuild["cpu_median_s"] >= BUDGET_S:
        print(
            f"FAIL: full rebuild at {results[-1]['stories']} stories took {rebuild['cpu_median_s']:.2f} s "
            f"of CPU (budget {BUDGET_S} s)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
