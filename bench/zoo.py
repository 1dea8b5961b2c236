"""The markup zoo read right? (issue 15): ``defwatch crawl`` of every family of
imitations/jdefense/zoo.py at once, on 127.0.0.1, and a table family x (articles, title,
date, body, rankings) of what was stored against what the family shows.

    python bench/zoo.py

Prints the table (a cell is ``ok`` or what differs) and the run outcome of each family;
exits 1 when a cell is not ``ok``. No timing: tests/crawler/test_jdefense_zoo.py asserts
the same; this is the table for a closing note.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imitations.jdefense import zoo
from imitations.server import SiteServer
from store import Store

COLUMNS = ("articles", "title", "date", "body", "rankings", "run")


def crawl(folder: Path, server: SiteServer) -> Path:
    db = folder / "defwatch.db"
    sources = "".join(
        f'\n[[sources]]\nname = "{f.name}"\nkind = "jdefense"\nurl = "{server.url(f.name, "/")}"\nprobe_misses = 2\n'
        for f in zoo.FAMILIES
    )
    (folder / "defwatch.toml").write_text(
        f'[store]\nurl = "sqlite:///{db}"\n\n[crawl]\nallow_private = true\nautothrottle = false\n'
        f'timeout = "10s"\n{sources}',
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "scheduler", "crawl", *[f.name for f in zoo.FAMILIES]],
        cwd=folder,
        capture_output=True,
        timeout=900,
        check=False,
    )
    return db


def row(store: Store, family: zoo.Family) -> dict[str, str]:
    stories = {s["url"].rsplit("/", 1)[1][:6]: s for s in store.stories(family.name)}
    out = {c: "ok" for c in COLUMNS}
    missing = sorted(set(zoo.ZOO_IDS) - set(stories))
    extra = sorted(set(stories) - set(zoo.ZOO_IDS))
    if missing or extra:
        out["articles"] = f"missing {missing} extra {extra}"
    wrong = {"title": 0, "date": 0, "body": 0}
    for article_id, story in stories.items():
        a = zoo.article(article_id)
        wrong["title"] += story["title"] != a.title
        wrong["date"] += story["published"] != zoo.expected_published(a, family.date_form)
        wrong["body"] += story["body"].split("\n") != a.body
    for field, n in wrong.items():
        if n:
            out[field] = f"{n} wrong"
    bad = []
    for window, ids in zoo.ZOO_RANKING.items():
        snapshots = store.ranking_snapshots(family.name, window)
        got = [e["url"].rsplit("/", 1)[1][:6] for e in snapshots[-1]["entries"]] if snapshots else None
        if got != ids:
            bad.append(window)
    if bad:
        out["rankings"] = f"{', '.join(bad)} wrong"
    run = store.runs(family.name)[0]
    out["run"] = run["outcome"] if run["outcome"] == "ok" else f"{run['outcome']}: {run['reason']}"
    return out


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SiteServer({f.name: zoo.ZooSite(f) for f in zoo.FAMILIES}) as server,
    ):
        db = crawl(Path(tmp), server)
        with Store.open(f"sqlite:///{db}") as store:
            rows = {f.name: row(store, f) for f in zoo.FAMILIES}
    width = max(len(name) for name in rows)
    print(f"| {'family':<{width}} | " + " | ".join(COLUMNS) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (len(c) + 2) for c in COLUMNS) + "|")
    for name, cells in rows.items():
        print(f"| {name:<{width}} | " + " | ".join(f"{cells[c]:<{len(c)}}" for c in COLUMNS) + " |")
    n_ok = sum(all(v == "ok" for v in cells.values()) for cells in rows.values())
    print(f"\n{n_ok} of {len(rows)} families read right in every column")
    return 0 if n_ok == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
