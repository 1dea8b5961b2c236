"""The dispatcher against a real HTTP receiver: retries with the same id until the
receiver takes it, Retry-After, signatures, give-up and requeue, digests, channels that
do not hold each other up, and two dispatchers that never send one delivery twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.dispatcher import Dispatcher, DispatchReport, RetryPolicy
from tests.conftest import Defwatch

from .conftest import Answer, Pipeline, Receiver

MOD = "https://www.mod.go.jp/j/press/news/2025/10/{n}.html"


def rules(hook_url: str, channel: str = "", timeout: str = "2s") -> str:
    return f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["hook"]

[channels.hook]
type = "webhook"
url = "{hook_url}"
timeout = "{timeout}"
{channel}
"""


def drain(
    dispatcher: Dispatcher, done: Callable[[], bool], timeout: float = 120.0, pause: float = 0.02
) -> DispatchReport:
    """Run the dispatcher until ``done()``, as the daemon would, run after run."""
    total = DispatchReport()
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not done after {timeout}s: {total}")
        total.add(dispatcher.run())
        time.sleep(pause)
    return total


def test_receiver_down_three_times_gets_the_delivery_once_with_the_same_id(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url()))
    p.save(MOD.format(n="1"), "mod", "日ASEAN会合", "本文")
    (delivery,) = p.deliveries()
    receiver.answer(Answer(500, "down"), Answer(500, "down"), Answer(503, "still down"))
    dispatcher = Dispatcher.from_config(p.config, p.store)
    report = drain(dispatcher, lambda: p.statuses()[delivery["id"]] == "sent")
    assert (report.sent, report.retrying) == (1, 3)
    ids = [r.headers["X-Defwatch-Delivery"] for r in receiver.requests]
    assert ids == [delivery["id"]] * 4
    assert [r.status for r in receiver.requests] == [500, 500, 503, 200]
    assert receiver.delivered_ids() == [delivery["id"]]
    assert {r.json()["id"] for r in receiver.requests} == {delivery["id"]}
    (row,) = p.deliveries()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 4, None)
    # Nothing more to send, however often the dispatcher runs.
    assert dispatcher.run() == DispatchReport()
    assert len(receiver.requests) == 4


def test_backoff_grows_between_attempts(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    p = pipeline(rules(receiver.url()))
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    receiver.answer(*[Answer(500)] * 3)
    drain(Dispatcher.from_config(p.config, p.store), lambda: len(receiver.requests) == 4, pause=0.005)
    at = [r.at for r in receiver.requests]
    gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
    # retry_initial 50ms, doubling, jitter of up to half again, at most retry_max 200ms
    assert 0.05 <= gaps[0] < 0.075 + 0.2  # (the upper bounds leave room for a busy machine)
    assert 0.1 <= gaps[1] < 0.15 + 0.2
    assert 0.2 <= gaps[2] < 0.2 + 0.2


def test_retry_after_on_429_is_honoured_up_to_retry_max(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url()))
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    p.save(MOD.format(n="2"), "mod", "ASEAN 2", "本文")
    # A week, capped at retry_max (200ms here; the backoff alone would be 50-75ms).
    receiver.answer(Answer(429, "slow down", {"Retry-After": str(7 * 86400)}))
    dispatcher = Dispatcher.from_config(p.config, p.store)
    drain(dispatcher, lambda: set(p.statuses().values()) == {"sent"}, pause=0.01)
    first, *rest = receiver.requests
    assert first.status == 429
    assert len(rest) == 2
    # nothing reached the receiver before the pause it asked for, not even other deliveries
    assert all(r.at - first.at >= 0.19 for r in rest)
    assert rest[0].headers["X-Defwatch-Delivery"] == first.headers["X-Defwatch-Delivery"]


def test_the_body_is_signed_and_shaped_as_the_interface_says(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url(), channel='secret = "s3cret-signing-key"'))
    p.save(MOD.format(n="1"), "mod", "日ＡＳＥＡＮ会合 & <協議>", "本文", summary="概要")
    Dispatcher.from_config(p.config, p.store).run()
    (request,) = receiver.requests
    expected = "sha256=" + hmac.new(b"s3cret-signing-key", request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Defwatch-Signature"], expected)
    assert request.headers["Content-Type"].startswith("application/json")
    doc = request.json()
    assert list(doc)[:3] == ["id", "rule", "matched"]
    assert doc["id"] == request.headers["X-Defwatch-Delivery"]
    assert (doc["rule"], doc["matched"]) == ("asean", ["ASEAN"])
    assert doc["story"] == {
        "url": MOD.format(n="1"),
        "title": "日ＡＳＥＡＮ会合 & <協議>",
        "source": "mod",
        "published": "2025-10-18T01:00:00+09:00",
        "summary": "概要",
        "also": [],
    }


def test_without_a_secret_there_is_no_signature(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url()))
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    Dispatcher.from_config(p.config, p.store).run()
    assert "X-Defwatch-Signature" not in receiver.requests[0].headers


def test_a_slow_failing_channel_does_not_delay_the_others(
    pipeline: Callable[..., Pipeline], make_receiver: Callable[[], Receiver]
) -> None:
    slow, fine = make_receiver(), make_receiver()
    slow.default = Answer(503, "overloaded", delay=1.0)  # the receiver's trouble: the channel pauses
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["slow", "fine"]

[channels.slow]
type = "webhook"
url = "{slow.url()}"
timeout = "3s"

[channels.fine]
type = "webhook"
url = "{fine.url()}"
"""
    )
    for n in range(3):
        p.save(MOD.format(n=n), "mod", f"ASEAN {n}", "本文")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.sent == 3 and report.retrying == 1  # the slow channel pauses after one failure
    assert len(fine.requests) == 3
    assert len(slow.requests) == 1
    # every message of the fine channel went out while the slow receiver was still busy
    assert max(r.answered_at for r in fine.requests) < slow.requests[0].answered_at


def test_no_answer_within_the_timeout_is_retried(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url("/slow-token"), timeout="200ms"))
    receiver.answer(Answer(200, "too late", delay=0.6))
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.retrying == 1
    (row,) = p.deliveries()
    assert row["status"] == "pending" and "Timeout" in row["last_error"]
    assert "slow-token" not in row["last_error"]  # the URL (which may hold a token) is never recorded


def test_give_up_marks_failed_and_retry_failed_requeues(
    pipeline: Callable[..., Pipeline], receiver: Receiver, defwatch: Defwatch
) -> None:
    p = pipeline(rules(receiver.url()), give_up_after="300ms")
    config_path = str(p.config_path)
    receiver.default = Answer(500, "broken")
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    dispatcher = Dispatcher.from_config(p.config, p.store)
    report = drain(dispatcher, lambda: set(p.statuses().values()) == {"failed"})
    assert report.failed == 1
    (row,) = p.deliveries()
    assert row["status"] == "failed" and "HTTP 500" in row["last_error"]
    assert dispatcher.run() == DispatchReport()  # failed deliveries are left alone
    tries = len(receiver.requests)

    status = defwatch("--config", config_path, "status", "--json")
    assert '"failed": 1' in status.stdout

    receiver.default = Answer(200, "back")
    result = defwatch("--config", config_path, "alerts", "--retry-failed")
    assert result.returncode == 0, result.stderr
    assert "requeued 1 failed delivery" in result.stdout
    assert "1 sent" in result.stdout
    assert len(receiver.requests) == tries + 1
    assert receiver.delivered_ids() == [row["id"]]
    assert p.statuses() == {row["id"]: "sent"}


def test_a_digest_groups_the_deliveries_of_its_window(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    # An hour's window, closed by moving the dispatcher's clock past it: a window of 400 ms
    # closed by itself while a loaded machine saved the three stories (reproduced at load 19).
    p = pipeline(rules(receiver.url(), channel='digest = "1h"'))
    later = [timedelta(0)]
    for n in range(3):
        p.save(MOD.format(n=n), "mod", f"ASEAN {n}", "本文")
    dispatcher = Dispatcher.from_config(p.config, p.store)
    dispatcher.clock = lambda: datetime.now(UTC) + later[0]
    assert dispatcher.run() == DispatchReport()  # the window is still open
    assert receiver.requests == []
    later[0] = timedelta(hours=1)
    receiver.answer(Answer(500, "once"))
    drain(dispatcher, lambda: set(p.statuses().values()) == {"sent"})
    assert len(receiver.requests) == 2  # one failure, then the digest again: still one message
    first, second = receiver.requests
    assert first.body == second.body
    doc = second.json()
    assert doc["id"] == second.headers["X-Defwatch-Delivery"] == first.headers["X-Defwatch-Delivery"]
    assert sorted(item["id"] for item in doc["digest"]) == sorted(p.statuses())
    assert {item["story"]["title"] for item in doc["digest"]} == {"ASEAN 0", "ASEAN 1", "ASEAN 2"}
    # a later story opens a new window
    p.save(MOD.format(n=9), "mod", "ASEAN 9", "本文")
    later[0] = timedelta(0)
    assert dispatcher.run() == DispatchReport()
    later[0] = timedelta(hours=1)
    assert dispatcher.run().sent == 1
    # (the receiver records a request just after answering it: wait for the record)
    assert len(receiver.wait_for(3)[-1].json()["digest"]) == 1


def test_two_dispatchers_at_once_send_each_delivery_once(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url()))
    for n in range(20):
        p.save(MOD.format(n=n), "mod", f"ASEAN {n}", "本文")
    receiver.default = Answer(200, "ok", delay=0.01)
    dispatchers = [Dispatcher.from_config(p.config, p.store) for _ in range(3)]
    threads = [threading.Thread(target=d.run) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = receiver.delivered_ids()
    assert sorted(ids) == sorted(p.statuses()) and len(ids) == 20
    assert set(p.statuses().values()) == {"sent"}


def test_deliveries_for_a_channel_no_longer_configured_fail_visibly(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(rules(receiver.url()))
    p.save(MOD.format(n="1"), "mod", "ASEAN", "本文")
    dispatcher = Dispatcher(p.store, {}, RetryPolicy(0.01, 0.02, 3600))
    report = dispatcher.run()
    assert report.retrying == 1 and "not configured" in report.errors[0]
    (row,) = p.deliveries()
    assert row["status"] == "pending" and "not configured" in row["last_error"]


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 60, 90), (2, 120, 180), (3, 240, 360), (8, 7200, 7200), (200, 7200, 7200)],
    ids=["first", "second", "third", "capped", "far"],
)
def test_backoff_policy(attempts: int, low: float, high: float) -> None:
    import random

    policy = RetryPolicy(60, 7200, 48 * 3600)
    rng = random.Random(1)
    delays = [policy.backoff(attempts, rng) for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    if low != high:
        assert max(delays) - min(delays) > (high - low) / 3  # there is jitter


def test_a_file_channel_takes_many_alerts_per_write_each_line_once(
    pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    """More alerts than one write carries (200): while the file cannot be written, none is
    marked sent and all wait; once it can, one pass writes each alert once, as its own line."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the alerts' folder should be")
    path = blocked / "alerts.jsonl"
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["log"]

[channels.log]
type = "file"
path = "{path}"
"""
    )
    for n in range(230):
        p.save(MOD.format(n=n), "mod", f"ASEAN {n}", "本文")
    queued = set(p.statuses())
    assert len(queued) == 230
    dispatcher = Dispatcher.from_config(p.config, p.store)
    report = dispatcher.run()
    assert report.sent == 0 and report.paused == ["log"]
    assert set(p.statuses().values()) == {"pending"}

    blocked.unlink()
    blocked.mkdir()
    drain(dispatcher, lambda: set(p.statuses().values()) == {"sent"}, pause=0.1)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(queued)
    assert {line["story"]["title"] for line in lines} == {f"ASEAN {n}" for n in range(230)}
