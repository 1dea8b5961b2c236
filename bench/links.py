"""Link detection time per new story as the store grows: it must stay flat.

Fills a SQLite store with synthetic stories of Japanese-like text and, when 1k, 10k and
100k stories are stored, saves a batch of new stories through the real save hook
(store.copies.CopyDetector) and times it. A quarter of the new stories are copies of a
stored story (another source, an intro sentence of its own), so matching, verification and
linking are all measured; the rest match nothing.

Every stored story is published within a few days of the new ones, inside the ±7-day
window: the date filter prunes nothing, so flatness has to come from the LSH buckets.

    python bench/links.py            # 1k, 10k, 100k (a few minutes on 2 cores)
    python bench/links.py --quick    # 1k, 3k, 10k (for `make bench`)

Prints a table and writes it as JSON next to this file (links.json, links.quick.json).
Exits 1 if the median time at the largest size is more than FLAT_LIMIT times that at
the smallest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# The repository first: bench/rankings.py would otherwise shadow the rankings package
# (a script's own folder comes first on sys.path), which the ingest step imports.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config
from ingest import Ingest
from store import SaveResult, Store, StoryIn, links
from store.copies import BANDS, NUM_PERM, ROWS, SHINGLE, CopyDetector

PROFILES = {"full": (1_000, 10_000, 100_000), "quick": (1_000, 3_000, 10_000)}
PROBES = {"full": 300, "quick": 150}
COPY_SHARE = 0.25
WARMUP = 10  # new stories saved before timing starts at each size (caches, compiled SQL)
FLAT_LIMIT = 2.0
BASE = datetime.fromisoformat("2025-10-20T12:00:00+09:00")
SOURCES = ("mod", "jdefense", "navalnews")

# Japanese-like text: kanji compounds, katakana loanwords and kana particles in sentences.
_KANJI = (
    "防衛省自衛隊海上陸航空統合幕僚監部次官級会合開催日米共同演習実施艦艇動向確認警戒監視情報収集"
    "発射弾道飛翔落下推定被害報告安全保障環境協力交流推進予算要求装備技術研究開発調達契約部隊編成"
    "訓練派遣災害救援支援国際平和活動基地施設整備人事発令処分懲戒大臣政務官記者会見発表方針計画"
)
_KATAKANA = (
    "ミサイル",
    "フリゲート",
    "レーダー",
    "ドローン",
    "サイバー",
    "システム",
    "パートナー",
    "イージス",
    "ヘリコプター",
)
_PARTICLES = ("は", "が", "を", "に", "で", "と", "の", "から", "まで", "について", "において", "により")
_ENDINGS = ("した。", "する予定です。", "を確認しました。", "を発表した。", "と述べた。", "が行われた。")


class TextMaker:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.words = [
            "".join(self.rnd.choice(_KANJI) for _ in range(self.rnd.choice((2, 2, 3, 4))))
            for _ in range(4000)
        ]
        self.words += list(_KATAKANA) * 20

    def sentence(self) -> str:
        parts = []
        for _ in range(self.rnd.randint(4, 9)):
            parts.append(self.rnd.choice(self.words) + self.rnd.choice(_PARTICLES))
        return "".join(parts) + self.rnd.choice(self.words) + self.rnd.choice(_ENDINGS)

    def body(self) -> str:
        return "\n".join(self.sentence() for _ in range(self.rnd.randint(6, 14)))

    def when(self) -> datetime:
        return BASE + timedelta(seconds=self.rnd.uniform(-5.5, 5.5) * 86400)


@dataclass
class Row:
    stored: int
    probes: int
    detect_mean_ms: float
    detect_median_ms: float
    detect_p95_ms: float
    save_mean_ms: float
    copies: int
    linked: int
    false_links: int


class TimedDetector:
    """The real hook, with its time per call recorded."""

    def __init__(self, detector: CopyDetector) -> None:
        self.detector = detector
        self.times: list[float] = []

    def __call__(self, conn: Any, story: dict[str, Any], result: SaveResult) -> None:
        start = time.perf_counter()
        self.detector(conn, story, result)
        self.times.append(time.perf_counter() - start)


def fill(store: Store, detector: CopyDetector, maker: TextMaker, start: int, stop: int) -> list[int]:
    """Store stories start..stop-1, indexed as the hook indexes them (matching skipped:
    what is measured is the cost of a new story against what is stored); their ids."""
    ids = []
    for chunk in range(start, stop, 1000):
        with store.transaction() as conn:
            for n in range(chunk, min(chunk + 1000, stop)):
                result = store.save_story(
                    StoryIn(
                        url=f"https://news{n % 7}.example/{n}",
                        source=SOURCES[n % len(SOURCES)],
                        title=f"記事{n}",
                        published=maker.when(),
                        body=maker.body(),
                    ),
                    conn,
                )
                detector.index(conn, store.story_row(conn, result.story_id), replace=False)
                ids.append(result.story_id)
    return ids


def probe(store: Store, detector: CopyDetector, maker: TextMaker, stored: list[int], count: int) -> Row:
    """Save ``count`` new stories through the real hook, after WARMUP unmeasured ones."""
    timed = TimedDetector(detector)
    ingest = Ingest(store, load_config(None, environ={}), copies=timed)  # type: ignore[arg-type]
    saves: list[float] = []
    expected: dict[int, int] = {}  # new copy's story id -> the stored story it copies
    fresh: list[int] = []
    for i in range(-WARMUP, count):
        if i == 0:
            timed.times.clear()
            saves.clear()
            expected.clear()
            fresh.clear()
        is_copy = maker.rnd.random() < COPY_SHARE
        if is_copy:
            original = maker.rnd.choice(stored)
            with store.engine.connect() as conn:
                [row] = links.matching_rows(conn, [original])
            body = maker.sentence() + "\n" + row["body"]
        else:
            body = maker.body()
        story = StoryIn(
            url=f"https://repost.example/{len(stored)}/{i}",
            source="repost",
            title="転載",
            published=BASE,
            body=body,
        )
        start = time.perf_counter()
        result = ingest.save_story(story)
        saves.append(time.perf_counter() - start)
        if is_copy:
            expected[result.story_id] = original
        else:
            fresh.append(result.story_id)
    with store.engine.connect() as conn:
        linked = sum(1 for new, old in expected.items() if old in links.group_ids(conn, new))
        false_links = sum(1 for new in fresh if links.is_linked(conn, new))
    ms = sorted(t * 1000 for t in timed.times)
    return Row(
        stored=len(stored),
        probes=count,
        detect_mean_ms=round(statistics.fmean(ms), 3),
        detect_median_ms=round(statistics.median(ms), 3),
        detect_p95_ms=round(ms[int(len(ms) * 0.95) - 1], 3),
        save_mean_ms=round(statistics.fmean(saves) * 1000, 3),
        copies=len(expected),
        linked=linked,
        false_links=false_links,
    )


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def print_table(rows: list[Row], ratio: float) -> None:
    head = (
        "stored",
        "new stories",
        "detect mean",
        "median",
        "p95",
        "save mean",
        "copies linked",
        "false links",
    )
    print("link detection per new story (ms)")
    print("  ".join(f"{h:>13}" for h in head))
    for r in rows:
        cells = (
            f"{r.stored:,}",
            str(r.probes),
            f"{r.detect_mean_ms:.2f}",
            f"{r.detect_median_ms:.2f}",
            f"{r.detect_p95_ms:.2f}",
            f"{r.save_mean_ms:.2f}",
            f"{r.linked}/{r.copies}",
            str(r.false_links),
        )
        print("  ".join(f"{c:>13}" for c in cells))
    print(f"median at {rows[-1].stored:,} / at {rows[0].stored:,} stored: x{ratio:.2f} (limit x{FLAT_LIMIT})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1k, 3k, 10k stored (for make bench)")
    parser.add_argument(
        "--db", metavar="PATH", help="keep the store in this SQLite file (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    profile = "quick" if args.quick else "full"
    sizes, probes = PROFILES[profile], PROBES[profile]
    with tempfile.TemporaryDirectory(prefix="defwatch-bench-") as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.db"
        db.unlink(missing_ok=True)
        started = time.monotonic()
        with Store.open(f"sqlite:///{db}") as store:
            detector = CopyDetector.install(store)
            maker = TextMaker(seed=20251017)
            rows: list[Row] = []
            filled: list[int] = []
            for size in sizes:
                filled += fill(store, detector, maker, len(filled), size)
                rows.append(probe(store, detector, maker, filled, probes))
                print(f"  {size:,} stored: done after {time.monotonic() - started:.0f}s", file=sys.stderr)
            size_mb = (store.size_bytes() or 0) / 1e6
    ratio = rows[-1].detect_median_ms / rows[0].detect_median_ms
    print_table(rows, ratio)
    print(f"store: {size_mb:.0f} MB; total {time.monotonic() - started:.0f}s")
    report = {
        "profile": profile,
        "machine": machine(),
        "index": {"shingle": SHINGLE, "num_perm": NUM_PERM, "bands": BANDS, "rows": ROWS},
        "rows": [asdict(r) for r in rows],
        "median_ratio": round(ratio, 3),
        "flat_limit": FLAT_LIMIT,
        "store_mb": round(size_mb, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    out = Path(__file__).with_name("links.quick.json" if args.quick else "links.json")
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out}")
    return 0 if ratio <= FLAT_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
