"""One cycle of the imitation sites on each topology: SQLite on one machine, PostgreSQL on one
machine, and PostgreSQL with the crawls on two Scrapyd nodes (docs/operations.md "Scaling
out"). All on this host, on 127.0.0.1: the figures say what the moving parts cost (a job's
start on a node, the node's polling, the network round trips to the store), not what more
hosts would gain.

Each topology gets a fresh store and fresh nodes, then `defwatch run --once` twice, as cron
runs it: the first cycle (every story new) and the next with the sites one epoch on (some
new, some revised). For each cycle: wall time, stories in the store after it, exit status,
and the machine's 1-minute load average before it (the host is shared: read the figures
with it).

    python bench/scaleout.py            # each topology once
    python bench/scaleout.py --rounds 3

Needs Debian's postgresql binaries (a private cluster is started, as by the tests) and the
`scrapyd` extra. Writes bench/scaleout.json (bench/scaleout.quick.json with --quick, which
runs the first cycle only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from imitations.jdefense import JDefenseSite  # noqa: E402
from imitations.mod import ModSite  # noqa: E402
from imitations.server import SiteServer  # noqa: E402
from store import Store  # noqa: E402
from tests import pg  # noqa: E402
from tests.conftest import Defwatch  # noqa: E402
from tests.crawler.test_scrapyd import ScrapydNode, configure  # noqa: E402

TOPOLOGIES = ("sqlite, one machine", "postgresql, one machine", "postgresql + 2 scrapyd nodes")


def one_topology(name: str, cluster: pg.Cluster, folder: Path, cycles: int) -> list[dict[str, Any]]:
    folder.mkdir(parents=True)
    nodes: list[ScrapydNode] = []
    rows = []
    try:
        if name.startswith("sqlite"):
            url = f"sqlite:///{folder / 'data' / 'defwatch.db'}"
        else:
            url = pg.new_database(cluster.url)
        if "scrapyd" in name:
            nodes = [ScrapydNode(folder / "node-a"), ScrapydNode(folder / "node-b")]
        defwatch = Defwatch(folder)
        with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as sites:
            configure(defwatch, sites, url, [n.url for n in nodes])
            for cycle in range(cycles):
                sites.set_epoch(cycle)
                load = os.getloadavg()[0]
                start = time.monotonic()
                result = defwatch("run", "--once", timeout=900)
                wall = time.monotonic() - start
                with Store.open(url) as store:
                    stories = store.count_stories()
                rows.append(
                    {
                        "topology": name,
                        "cycle": "first" if cycle == 0 else "next epoch",
                        "wall_s": round(wall, 2),
                        "stories": stories,
                        "exit": result.returncode,
                        "load": round(load, 2),
                    }
                )
                if result.returncode != 0:
                    print(result.stderr[-2000:], file=sys.stderr)
    finally:
        for node in nodes:
            node.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the first cycle only")
    args = parser.parse_args()
    bindir = pg._binaries()
    if bindir is None:
        print("scaleout: no PostgreSQL binaries here (apt-get install postgresql)", file=sys.stderr)
        return 2
    cycles = 1 if args.quick else 2
    cluster = pg.Cluster(bindir)
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="defwatch-scaleout-") as tmp:
            os.chmod(tmp, 0o755)
            for r in range(args.rounds):
                for i, name in enumerate(TOPOLOGIES):
                    rows += one_topology(name, cluster, Path(tmp) / f"r{r}-{i}", cycles)
    finally:
        cluster.stop()
    print(f"{'topology':<30} {'cycle':<11} {'wall s':>7} {'stories':>8} {'exit':>5} {'load':>6}")
    for row in rows:
        print(
            f"{row['topology']:<30} {row['cycle']:<11} {row['wall_s']:>7.2f} {row['stories']:>8} "
            f"{row['exit']:>5} {row['load']:>6.2f}"
        )
    report = {
        "bench": "scaleout",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    out = HERE / ("scaleout.quick.json" if args.quick else "scaleout.json")
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if all(row["exit"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
