"""Clock jumps (libfaketime, Debian's ``faketime`` package, installed by .ci/run): the
wall clock jumps three days forward, then back to a day before the first run. Every story
is stored once and alerted once; each ``run --once`` exits 0 and records its run."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from store import Store
from tests.conftest import Defwatch
from tests.faults.conftest import feed_config, figure
from tests.faults.hostile import HostileServer, rss

pytestmark = pytest.mark.timeout(300)

LIBFAKETIME = next(
    (
        str(p)
        for p in (
            Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/faketime/libfaketime.so.1"),
        )
        if p.exists()
    ),
    None,
)


def test_clock_jumps_lose_nothing_and_alert_nothing_twice(tmp_path: Path) -> None:
    assert LIBFAKETIME is not None and shutil.which("faketime"), "install Debian's faketime (.ci/run does)"
    with HostileServer() as site:
        stories: list[tuple[str, ...]] = []

        def publish(n: int) -> None:
            stories.append((f"clock story {n}", f"{{origin}}/story/clock/{n}"))
            site.static("/clock.xml", rss(list(reversed(stories))))

        defwatch = Defwatch(tmp_path)
        defwatch.write_config(feed_config(site.url("/clock.xml"), source="clock"))
        steps = [("now", None), ("+3 days", "+3d"), ("-1 day", "-1d")]
        for n, (label, offset) in enumerate(steps):
            publish(n)
            env = {} if offset is None else {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": offset}
            result = defwatch("run", "--once", env=env)
            assert result.returncode == 0, (label, result.stdout, result.stderr)
    with Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}") as store:
        assert store.count_stories() == len(steps)
        runs = store.runs("clock")
        assert [r["outcome"] for r in runs] == ["ok"] * len(steps)
    alerts = Counter(
        json.loads(line)["story"]["url"] for line in (tmp_path / "alerts.jsonl").read_text().splitlines()
    )
    assert len(alerts) == len(steps) and max(alerts.values()) == 1
    figure(
        "clock jumps +3 days, then -1 day",
        f"{len(steps)} stories stored and alerted once each, exit 0 each run",
    )
