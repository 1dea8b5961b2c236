"""``defwatch demo``, as ``make demo`` runs it: offline, under a minute, with a summary."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from tests.conftest import Defwatch


def test_demo_runs_two_cycles_and_sums_up(defwatch: Defwatch) -> None:
    began = time.monotonic()
    result = defwatch("demo", timeout=120)
    took = time.monotonic() - began
    folder = re.search(r"files in (\S+)", result.stdout)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert took < 60, f"the demo took {took:.0f}s"
        assert "Traceback" not in result.stderr
        out = result.stdout
        assert "cycle 1" in out and "cycle 2" in out and "epoch 0 → 1" in out
        assert re.search(r"webhook ← asean: .*ASEAN", out)  # the receiver printed what it got
        assert re.search(r"webhook ← jinji: 人事発令", out)
        stories = re.search(r"stories: +(\d+) \(jdefense (\d+), mod (\d+)", out)
        assert stories and all(int(n) > 0 for n in stories.groups()), out
        assert re.search(r"copies linked: +[1-9]", out)
        assert re.search(r"ranking movements: +[1-9]", out)
        assert re.search(r"alerts delivered: +[1-9]\d* \(file \d+, hook [1-9]", out)
        assert folder is not None
        feeds = Path(folder.group(1)) / "public"
        assert re.search(r"feeds written: +\d+ files in " + re.escape(str(feeds)), out)
        for name in ("all.rss", "all.atom", "index.opml", "sources/jdefense.rss", "rules/asean.rss"):
            assert (feeds / name).is_file(), name
            assert str(feeds / name) in out or name.endswith(".atom")
        assert (Path(folder.group(1)) / "alerts.jsonl").read_text(encoding="utf-8").count("\n") > 0
    finally:
        if folder is not None:
            shutil.rmtree(folder.group(1), ignore_errors=True)
