"""Delivery that never holds the rest back (issues 20, 22, 17), against real receivers on
127.0.0.1: failures of one delivery back off alone, 410 and SMTP 550 give up at once, give-up
counts from the first attempt, every attempt has a total deadline, one pass sends everything
due, and the daemon delivers apart from its crawls."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alerts.channels import Message
from alerts.channels.email import EmailChannel
from alerts.channels.webhook import WebhookChannel
from alerts.dispatcher import Dispatcher, RetryPolicy
from alerts.message import story_payload
from core.model import JST, Story
from store import Store
from store import schema as t
from tests.conftest import Defwatch

from .conftest import Answer, FeedServer, Pipeline, Receiver, Trickler, free_port

MOD = "https://www.mod.go.jp/j/press/news/2025/10/{n}.html"
EVERY_3S = "*/3 * * * * *"
YEARLY = "0 0 1 1 *"


def hook(url: str, timeout: str = "2s", extra: str = "") -> str:
    return f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["hook"]

[channels.hook]
type = "webhook"
url = "{url}"
timeout = "{timeout}"
{extra}
"""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# -- one pass ----------------------------------------------------------------------------------


def test_a_receiver_failing_two_stories_for_good_does_not_delay_the_others(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(hook(receiver.url()))
    for n in range(10):
        p.save(MOD.format(n=n), "mod", f"ASEAN {n}", "本文")
    # The receiver refuses these two payloads every time (a 500 for that payload, a 422).
    bad = {"ASEAN 3": Answer(500, "cannot take this one"), "ASEAN 7": Answer(422, "invalid")}
    receiver.route = lambda body: bad.get(json.loads(body)["story"]["title"])
    report = Dispatcher.from_config(p.config, p.store).run()
    assert (report.sent, report.retrying, report.failed) == (8, 2, 0)
    delivered = {r.json()["story"]["title"] for r in receiver.requests if r.status == 200}
    assert delivered == {f"ASEAN {n}" for n in range(10)} - set(bad)
    # The two wait for their own retry; the channel is not paused for them.
    rows = {r["payload"]["story"]["title"]: r for r in p.deliveries()}
    assert {title for title, r in rows.items() if r["status"] == "pending"} == set(bad)
    assert "HTTP 422" in rows["ASEAN 7"]["last_error"]


def test_410_gone_gives_up_at_once(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    p = pipeline(hook(receiver.url()))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    p.save(MOD.format(n=2), "mod", "ASEAN 2", "本文")
    receiver.answer(Answer(410, "this hook was deleted"))
    report = Dispatcher.from_config(p.config, p.store).run()
    assert (report.sent, report.failed, report.retrying) == (1, 1, 0)
    failed = [r for r in p.deliveries() if r["status"] == "failed"]
    assert len(failed) == 1 and "HTTP 410" in failed[0]["last_error"] and failed[0]["attempts"] == 1


def test_a_redirect_is_not_followed_and_pauses_the_channel(
    pipeline: Callable[..., Pipeline], make_receiver: Callable[[], Receiver]
) -> None:
    hook_receiver, elsewhere = make_receiver(), make_receiver()
    p = pipeline(hook(hook_receiver.url()))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    p.save(MOD.format(n=2), "mod", "ASEAN 2", "本文")
    hook_receiver.default = Answer(301, "moved", {"Location": elsewhere.url()})
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.paused == ["hook"] and report.sent == 0
    assert len(hook_receiver.requests) == 1 and not elsewhere.requests
    assert all(r["status"] == "pending" and "not followed" in r["last_error"] for r in p.deliveries())


def test_status_shows_a_failing_channel_as_paused_with_why_and_until_when(
    pipeline: Callable[..., Pipeline], receiver: Receiver, defwatch: Defwatch
) -> None:
    p = pipeline(hook(receiver.url()))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    p.save(MOD.format(n=2), "mod", "ASEAN 2", "本文")
    receiver.answer(Answer(503, "maintenance", {"Retry-After": "600"}))
    before = datetime.now(UTC)
    dispatcher = Dispatcher.from_config(p.config, p.store)
    dispatcher.policy = RetryPolicy(initial=60, maximum=3600, give_up_after=7200)  # Retry-After obeyed
    report = dispatcher.run()
    assert report.paused == ["hook"] and report.sent == 0
    assert len(receiver.requests) == 1  # the second waits for the channel, not tried

    result = defwatch("status", "--json")
    assert result.returncode == 0, result.stderr
    pause = json.loads(result.stdout)["deliveries"]["paused"]["hook"]
    assert pause["waiting"] == 2 and "HTTP 503" in pause["reason"]
    until = datetime.fromisoformat(pause["until"])
    assert before + timedelta(seconds=590) <= until <= datetime.now(UTC) + timedelta(seconds=610)

    text = defwatch("status").stdout
    line = next(line for line in text.splitlines() if "paused" in line)
    when = until.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")
    assert line.strip().startswith(f"paused until {when} JST (2 deliveries waiting): attempt 1: HTTP 503"), (
        text
    )

    # Once the channel answers again it is no longer shown as paused.
    receiver.answer(Answer(200, "ok"))
    dispatcher.clock = lambda: until + timedelta(seconds=1)
    assert dispatcher.run().sent == 2
    assert json.loads(defwatch("status", "--json").stdout)["deliveries"]["paused"] == {}
    assert "paused" not in defwatch("status").stdout


class RefusingInbox:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.1.1 mailbox unavailable"


def test_smtp_550_gives_up_at_once(pipeline: Callable[..., Pipeline]) -> None:
    port = free_port()
    controller = Controller(RefusingInbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        p = pipeline(
            f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["mail"]

[channels.mail]
type = "email"
smtp_url = "smtp://127.0.0.1:{port}"
from = "defwatch@example.org"
to = ["nobody@example.org"]
timeout = "5s"
"""
        )
        p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
        report = Dispatcher.from_config(p.config, p.store).run()
    finally:
        controller.stop()
    assert (report.failed, report.retrying) == (1, 0)
    (row,) = p.deliveries()
    assert row["status"] == "failed" and "550" in row["last_error"] and row["attempts"] == 1


# -- give-up counts from the first attempt ----------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_give_up_counts_attempts_and_time_since_the_first_attempt(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(hook(receiver.url()))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    receiver.default = Answer(500, "broken")
    policy = RetryPolicy(initial=60, maximum=3600, give_up_after=6 * 3600)
    (row,) = p.deliveries()
    # Queued three days ago (the daemon was down, or the clock jumped): the first attempt's
    # failure is no reason to give up.
    clock = Clock(row["created"] + timedelta(days=3))
    dispatcher = Dispatcher(p.store, Dispatcher.from_config(p.config, p.store).channels, policy, clock=clock)
    dispatcher.run()
    assert p.deliveries()[0]["status"] == "pending"
    # The clock jumps a week ahead: past give_up_after since the first attempt, but only a
    # second attempt: still retried.
    clock.now += timedelta(days=7)
    dispatcher.run()
    assert p.deliveries()[0]["status"] == "pending"
    # Attempts go on until as many as the backoff makes in give_up_after were made.
    while p.deliveries()[0]["status"] == "pending":
        clock.now = p.deliveries()[0]["next_attempt"] + timedelta(seconds=1)
        dispatcher.run()
    (row,) = p.deliveries()
    assert row["status"] == "failed" and row["attempts"] == policy.min_attempts > 2


# -- a total deadline per attempt ----------------------------------------------------------------


def _in_thread(fn: Callable[[], Any], bound: float) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    thread.join(bound)
    assert result, f"still running after {bound:.0f}s"
    return result[0]


def test_a_trickling_receiver_is_cut_at_the_total_deadline(trickler: Trickler) -> None:
    channel = WebhookChannel("hook", trickler.url(), timeout=1.0)
    payload = story_payload("asean", ["ASEAN"], _story(), [], "new")
    receipt = _in_thread(lambda: channel.deliver(Message("d" * 64, payload)), bound=30)
    assert not receipt.ok and receipt.scope == "channel"
    assert "total deadline" in receipt.answer
    assert trickler.closed.wait(10)  # we hung up on it


def test_a_trickling_smtp_server_is_cut_at_the_total_deadline() -> None:
    """An SMTP server that greets one byte at a time never trips a per-read timeout."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = sock.accept()
        with conn:
            for byte in b"220 slow.example ESMTP " + b"." * 10000:
                if stop.wait(0.3):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    try:
        channel = EmailChannel(
            "mail",
            f"smtp://127.0.0.1:{sock.getsockname()[1]}",
            "a@example.org",
            ["b@example.org"],
            timeout=1.0,
        )
        payload = story_payload("asean", ["ASEAN"], _story(), [], "new")
        receipt = _in_thread(lambda: channel.deliver(Message("e" * 64, payload)), bound=30)
    finally:
        stop.set()
        sock.close()
    assert not receipt.ok and "total deadline" in receipt.answer


def _story(title: str = "日ASEAN会合") -> Story:
    return Story(
        1, MOD.format(n=1), "mod", title, published=datetime(2025, 10, 17, 7, 0, tzinfo=UTC), body="本文"
    )


# -- bounded outputs ---------------------------------------------------------------------------------


def test_a_million_character_title_makes_bounded_outputs(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    from alerts.channels.email import compose, subject_for
    from alerts.channels.slack import SlackChannel

    p = pipeline(hook(receiver.url()))
    p.save(MOD.format(n=1), "mod", "ASEAN " + "長" * 1_000_000, "本文 " + "x" * 1_000_000)
    Dispatcher.from_config(p.config, p.store).run()
    (request,) = receiver.requests
    assert len(request.body) < 20_000
    assert len(request.json()["story"]["title"]) <= 1000
    (row,) = p.deliveries()
    message = Message(row["id"], row["payload"])
    mail = compose(row["id"], "a@example.org", ["b@example.org"], [row["payload"]], subject_for(message))
    assert len(mail.as_bytes()) < 50_000
    assert len(json.dumps(SlackChannel.document(message))) < 20_000
    # An older delivery stored before the bound is cut when it is sent.
    huge = {**row["payload"], "story": {**row["payload"]["story"], "title": "X" * 1_000_000}}
    body, _ = WebhookChannel("w", receiver.url()).encode(Dispatcher._message(_row(row, huge)).body())
    assert len(body) < 20_000


def _row(row: dict[str, Any], payload: dict[str, Any]) -> Any:
    from store.outbox import DeliveryRow

    return DeliveryRow.from_row({**row, "payload": payload})


# -- the daemon and run --once ---------------------------------------------------------------------


def daemon_config(
    defwatch: Defwatch, feed: FeedServer, hook_url: str, *, schedule: str = YEARLY, timeout: str = "1s"
) -> None:
    defwatch.write_config(
        f"""
        [store]
        url = "sqlite:///defwatch.db"

        [crawl]
        allow_private = true  # the feed server is on 127.0.0.1
        autothrottle = false
        timeout = "10s"

        [scheduler]
        jitter = "0s"

        [alerts]
        retry_initial = "500ms"
        retry_max = "1s"

        [[sources]]
        name = "feed"
        kind = "feed"
        url = "{feed.url}"
        schedule = "{schedule}"
        max_items = 2000  # the 1,500-item feed is read whole (the default reads 1,000)

        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        notify = ["hook"]

        [channels.hook]
        type = "webhook"
        url = "{hook_url}"
        timeout = "{timeout}"
        """
    )


def _runs(defwatch: Defwatch) -> list[dict[str, Any]]:
    path = defwatch.cwd / "defwatch.db"
    if not path.exists():
        return []
    try:
        with Store.open(f"sqlite:///{path}", migrate=False) as store, store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(t.crawl_runs)).mappings()]
    except Exception:
        return []  # the daemon is creating the store


@pytest.fixture
def daemon(defwatch: Defwatch) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = defwatch.popen("run")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_daemon_alone_delivers_within_the_backoff_after_the_receiver_recovers(
    defwatch: Defwatch,
    feed_server: FeedServer,
    receiver: Receiver,
    daemon: Callable[[], subprocess.Popen[str]],
) -> None:
    feed_server.add(2)
    receiver.answer(Answer(503, "down"), Answer(503, "still down"))
    daemon_config(defwatch, feed_server, receiver.url())
    proc = daemon()
    # One crawl at start-up (the schedule is yearly); the retries come from the delivery
    # loop waking for them, not from any crawl.
    wait_until(lambda: len(receiver.delivered_ids()) == 2, 60, "both deliveries after the receiver recovered")
    assert [r.status for r in receiver.requests][:2] == [503, 503]
    assert len(_runs(defwatch)) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_a_trickling_receiver_never_holds_the_crawls_and_sigterm_stops_at_once(
    defwatch: Defwatch,
    feed_server: FeedServer,
    trickler: Trickler,
    daemon: Callable[[], subprocess.Popen[str]],
) -> None:
    feed_server.add(1)
    daemon_config(defwatch, feed_server, trickler.url(), schedule=EVERY_3S)
    proc = daemon()
    # Crawls go on every 3 seconds while the receiver trickles; each attempt is cut at its
    # deadline and retried.
    wait_until(lambda: trickler.connections >= 2, 60, "a second attempt (the first one was cut)")
    done = len([r for r in _runs(defwatch) if r["finished"] is not None])
    wait_until(
        lambda: len([r for r in _runs(defwatch) if r["finished"] is not None]) >= done + 2,
        60,
        "two more crawls while the receiver trickles",
    )
    trickler.every = 0.2
    wait_until(lambda: trickler.connections >= 3, 30, "an attempt in flight")
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon did not stop within 20s of SIGTERM") from None
    assert code == 0
    with Store.open(f"sqlite:///{defwatch.cwd / 'defwatch.db'}") as store, store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t.deliveries)).mappings()]
    assert [r["status"] for r in rows] == ["pending"]  # kept for the next start, not lost


def test_1500_new_stories_are_all_delivered_by_one_run_once(
    defwatch: Defwatch, feed_server: FeedServer, receiver: Receiver
) -> None:
    feed_server.add(1500)
    daemon_config(defwatch, feed_server, receiver.url(), timeout="10s")
    result = defwatch("run", "--once", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(set(receiver.delivered_ids())) == 1500
    with Store.open(f"sqlite:///{defwatch.cwd / 'defwatch.db'}") as store:
        assert store.delivery_counts()["sent"] == 1500


def test_run_once_waits_out_a_short_retry_after(
    defwatch: Defwatch, feed_server: FeedServer, receiver: Receiver
) -> None:
    feed_server.add(1)
    receiver.answer(Answer(429, "slow down", {"Retry-After": "1"}))
    daemon_config(defwatch, feed_server, receiver.url())
    # retry_max is 1s, once_wait 30s by default: the run waits and delivers before exiting.
    result = defwatch("run", "--once", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r.status for r in receiver.requests] == [429, 200]


def test_standard_webhooks_signature_verifies(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    import base64

    from standardwebhooks.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    p = pipeline(hook(receiver.url(), extra=f'secret = "{secret}"'))
    p.save(MOD.format(n=1), "mod", "日ASEAN会合", "本文")
    receiver.answer(Answer(500, "once"))
    drain_until = time.monotonic() + 20
    dispatcher = Dispatcher.from_config(p.config, p.store)
    while len(receiver.delivered_ids()) < 1 and time.monotonic() < drain_until:
        dispatcher.run()
        time.sleep(0.05)
    first, second = receiver.requests
    for request in (first, second):
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert Webhook(secret).verify(request.body, headers) == request.json()
    # The same id on every retry, a timestamp per attempt.
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == first.json()["id"]
    # A captured delivery with its body changed does not verify.
    tampered = {k.lower(): v for k, v in first.headers.items()}
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(secret).verify(first.body.replace(b"ASEAN", b"XXXXX"), tampered)
    # Also with a plain (non-whsec_) secret: the key is the secret's bytes.
    plain = "plain-secret"
    channel = WebhookChannel("w", receiver.url(), secret=plain)
    body, headers = channel.encode({"id": "x" * 64, "rule": "r"})
    key = "whsec_" + base64.b64encode(plain.encode()).decode()
    assert Webhook(key).verify(body, {k.lower(): v for k, v in headers.items()}) == json.loads(body)


def _decode_header(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=email_policy.default)["Subject"])
