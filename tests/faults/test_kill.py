"""Process faults: ``defwatch crawl`` killed with SIGKILL in the middle of a crawl (stories
half stored, its page worker busy), then run again, then alerts delivered. Nothing stored is
lost, the killed run is closed as ``interrupted`` at the next start, every story ends up
stored and alerted once."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from store import Store
from tests.conftest import Defwatch
from tests.faults.conftest import feed_config, figure
from tests.faults.hostile import HostileServer, _article, rss, wait_for

pytestmark = pytest.mark.timeout(300)

N = 24


def test_sigkill_mid_crawl_then_again_loses_nothing_and_alerts_once(tmp_path: Path) -> None:
    with HostileServer() as site:
        # The first half of the article requests is answered, the rest held until the crawl
        # is killed: it is killed half-way however fast or slow the machine (a fixed delay per
        # page raced the polls of the store).
        served, killed, lock = [0], threading.Event(), threading.Lock()

        def half_then_held(req: Any, sock: socket.socket) -> None:
            with lock:
                served[0] += 1
                held = served[0] > N // 2
            if held:
                killed.wait(600)
            site.page(sock, req, 200, _article(req.path))

        for i in range(N):
            site.custom(f"/story/kill/{i}", half_then_held)
        site.static("/kill.xml", rss([(f"kill story {i}", f"{{origin}}/story/kill/{i}") for i in range(N)]))
        defwatch = Defwatch(tmp_path)
        defwatch.write_config(
            feed_config(
                site.url("/kill.xml"),
                source="kill",
                crawl="concurrency_per_domain = 2",
                source_extra="fetch_articles = true",
            )
        )
        db = tmp_path / "defwatch.db"

        def stored() -> int:
            if not db.exists():
                return 0
            try:
                with Store.open(f"sqlite:///{db}", create=False) as store:
                    return store.count_stories()
            except Exception:
                return 0

        crawl = defwatch.popen("crawl")
        assert wait_for(lambda: stored() >= 5, timeout=180), "the crawl stored nothing"
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.communicate(timeout=120)
        killed.set()
        at_kill = stored()
        assert at_kill <= N // 2  # killed half-way

        start = time.monotonic()
        again = defwatch("crawl", timeout=240)
        recovered = time.monotonic() - start
        assert again.returncode == 0, again.stdout + again.stderr
        delivered = defwatch("alerts", timeout=120)
        assert delivered.returncode == 0, delivered.stdout + delivered.stderr

    with Store.open(f"sqlite:///{db}") as store:
        stories = store.stories("kill")
        runs = list(reversed(store.runs("kill")))
    assert len(stories) == N and all(s["complete"] for s in stories)  # read in full, none lost
    assert [r["outcome"] for r in runs] == ["interrupted", "ok"], runs
    alerts = Counter(
        json.loads(line)["story"]["url"] for line in (tmp_path / "alerts.jsonl").read_text().splitlines()
    )
    assert len(alerts) == N and max(alerts.values()) == 1
    figure(
        "SIGKILL of `crawl` mid-crawl",
        f"{at_kill} of {N} stored at the kill, all {N} after the next crawl ({recovered:.1f} s); "
        "killed run closed as interrupted; 0 lost, 0 alerted twice",
    )
