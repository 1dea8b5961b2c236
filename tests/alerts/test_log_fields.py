"""JSON log lines of deliveries carry the delivery's id, channel, outcome and reason."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import Defwatch

from .conftest import Answer, Pipeline, Receiver


def test_json_lines_name_the_delivery(
    defwatch: Defwatch, pipeline: Callable[..., Pipeline], receiver: Receiver
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
"""
    )
    p.save("https://www.mod.go.jp/j/press/news/2025/10/1.html", "mod", "ASEAN", "本文")
    [delivery] = p.deliveries()
    receiver.answer(Answer(500, "flaky"), Answer(200))
    first = defwatch("--config", str(p.config_path), "--log-format", "json", "alerts")
    second = defwatch("--config", str(p.config_path), "--log-format", "json", "-v", "alerts")
    assert (first.returncode, second.returncode) == (1, 0), first.stderr + second.stderr
    retry = [json.loads(line) for line in first.stderr.splitlines()]
    sent = [json.loads(line) for line in second.stderr.splitlines()]
    [retried] = [d for d in retry if d.get("delivery_id") == delivery["id"]]
    assert retried["channel"] == "hook" and retried["outcome"] == "retrying"
    assert "500" in retried["reason"] and retried["level"] == "warning"
    [done] = [d for d in sent if d.get("delivery_id") == delivery["id"]]
    assert done["outcome"] == "sent" and done["level"] == "info"
