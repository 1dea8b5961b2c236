"""A dispatcher killed with SIGKILL in the middle of a run, and started again, loses
nothing: every delivery reaches the receiver (one may arrive twice, with the same id)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

from tests.conftest import Defwatch

from .conftest import Answer, Pipeline, Receiver


def test_sigkill_mid_run_then_restart_loses_nothing(
    pipeline: Callable[..., Pipeline], receiver: Receiver, defwatch: Defwatch
) -> None:
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["hook"]

[channels.hook]
type = "webhook"
url = "{receiver.url()}"
timeout = "500ms"
"""
    )
    for n in range(12):
        p.save(f"https://www.mod.go.jp/j/press/news/2025/10/{n}.html", "mod", f"ASEAN {n}", "本文")
    expected = set(p.statuses())
    assert len(expected) == 12
    p.store.close()
    receiver.default = Answer(200, "ok", delay=0.15)  # slow enough to kill it mid-run

    proc = defwatch.popen("--config", str(p.config_path), "alerts")
    receiver.wait_for(4, timeout=30)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    killed_at = len(receiver.requests)
    assert killed_at < 12, "the dispatcher finished before it could be killed"

    receiver.default = Answer(200, "ok")
    deadline = time.monotonic() + 60
    runs = 0
    while True:
        counts = json.loads(defwatch("--config", str(p.config_path), "status", "--json").stdout)["alerts"]
        if counts["pending"] == 0:
            break
        assert time.monotonic() < deadline, f"after {runs} restarts: {counts}"
        time.sleep(0.3)  # the one claimed when killed is due again after its lease
        result = defwatch("--config", str(p.config_path), "alerts")
        assert result.returncode == 0, result.stdout + result.stderr
        runs += 1

    assert counts == {"pending": 0, "sent": 12, "failed": 0}
    ids = receiver.delivered_ids()
    assert set(ids) == expected
    assert len(ids) - len(set(ids)) <= 1  # at most the one in flight when killed, same id
