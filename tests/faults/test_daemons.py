"""Two daemons on one store: while one ``defwatch run`` works, a second ``run`` and a
``run --once`` on the same store are refused at once with one line and exit 2; the first
goes on unharmed, stores every story once, alerts each once, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from store import Store
from tests.conftest import Defwatch
from tests.faults.conftest import feed_config, figure
from tests.faults.hostile import HostileServer, items, rss, wait_for

pytestmark = pytest.mark.timeout(300)

N = 5


def test_a_second_daemon_on_the_same_store_is_refused_and_the_first_goes_on(tmp_path: Path) -> None:
    with HostileServer() as site:
        url = site.static("/two.xml", rss(items("/two.xml", N)))
        defwatch = Defwatch(tmp_path)
        defwatch.write_config(feed_config(url, source="two"))
        db = tmp_path / "defwatch.db"
        alerts = tmp_path / "alerts.jsonl"

        def alerted() -> Counter[str]:
            if not alerts.exists():
                return Counter()
            lines = alerts.read_text().splitlines()
            return Counter(json.loads(line)["story"]["url"] for line in lines if line.endswith("}"))

        first = defwatch.popen("run")
        try:
            # The first daemon's start-up cycle: stories stored and alerted.
            assert wait_for(lambda: len(alerted()) == N, timeout=180), first.stderr
            refused = []
            for command in (("run",), ("run", "--once")):
                start = time.monotonic()
                result = defwatch(*command, timeout=60)
                refused.append(time.monotonic() - start)
                assert result.returncode == 2, (command, result.stdout, result.stderr)
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and "another defwatch run is already using this store" in lines[0]
            assert first.poll() is None  # the first daemon goes on
        finally:
            first.send_signal(signal.SIGTERM)
            _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    with Store.open(f"sqlite:///{db}") as store:
        assert store.count_stories() == N
        assert [r["outcome"] for r in store.runs("two")] == ["ok"]
    counts = alerted()
    assert len(counts) == N and max(counts.values()) == 1
    figure(
        "two daemons on one store",
        f"2nd `run` and a `run --once` refused, exit 2, one line ({max(refused):.1f} s at most); "
        f"the 1st: {N} stored, {N} alerted once, exit 0 on SIGTERM",
    )
