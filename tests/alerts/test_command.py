"""``defwatch alerts`` and ``defwatch alerts test CHANNEL`` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Defwatch

from .conftest import Answer, Certificate, Pipeline, Receiver, SmtpServer, write_config


def channels(receiver: Receiver, smtp: SmtpServer | None = None) -> str:
    text = f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["hook", "log"]

[channels.hook]
type = "webhook"
url = "{receiver.url()}"
secret = "${{HOOK_SECRET}}"

[channels.log]
type = "file"
path = "alerts.jsonl"
"""
    if smtp is not None:
        text += f"""
[channels.mail]
type = "email"
smtp_url = "{smtp.url()}"
from = "defwatch@example.org"
to = ["ops@example.org"]
require_tls = true
"""
    return text


ENV = {"HOOK_SECRET": "hook-secret-value"}


def test_alerts_test_prints_what_the_receiver_answered(
    defwatch: Defwatch, tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, channels(receiver))
    receiver.answer(Answer(202, "queued as 42"))
    result = defwatch("--config", str(config), "alerts", "test", "hook", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hook (webhook): ok: HTTP 202 Accepted: queued as 42"
    (request,) = receiver.requests
    doc = request.json()
    assert doc["event"] == "test" and doc["id"] == request.headers["X-Defwatch-Delivery"]
    assert request.headers["X-Defwatch-Signature"].startswith("sha256=")
    assert "hook-secret-value" not in result.stdout + result.stderr


def test_alerts_test_failing_receiver_exits_non_zero(
    defwatch: Defwatch, tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, channels(receiver))
    receiver.answer(Answer(500, "database is down"))
    result = defwatch("--config", str(config), "alerts", "test", "hook", env=ENV)
    assert result.returncode == 1
    assert result.stdout.strip() == "hook (webhook): FAILED: HTTP 500 Internal Server Error: database is down"


def test_alerts_test_email_over_starttls(
    defwatch: Defwatch,
    tmp_path: Path,
    receiver: Receiver,
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
) -> None:
    smtp = smtp_server("starttls")
    config = write_config(tmp_path, channels(receiver, smtp))
    env = {**ENV, "SSL_CERT_FILE": str(certificate.cert)}
    result = defwatch("--config", str(config), "alerts", "test", "mail", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "mail (email): ok: SMTP 250 Message accepted for delivery"
    (msg,) = smtp.inbox.messages
    assert "テストメッセージ" in msg["Subject"]


def test_alerts_test_file_channel(defwatch: Defwatch, tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, channels(receiver))
    result = defwatch("--config", str(config), "alerts", "test", "log", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("log (file): ok: appended ")
    (line,) = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["rule"] == "test"


def test_alerts_test_needs_a_configured_channel(
    defwatch: Defwatch, tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, channels(receiver))
    missing = defwatch("--config", str(config), "alerts", "test", env=ENV)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "defwatch: alerts test: name a channel (configured: hook, log)"
    unknown = defwatch("--config", str(config), "alerts", "test", "nope", env=ENV)
    assert unknown.returncode == 2
    assert "no channel named 'nope' (configured: hook, log)" in unknown.stderr


def test_a_missing_secret_is_a_start_up_error_naming_the_variable(
    defwatch: Defwatch, tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path, channels(receiver))
    result = defwatch("--config", str(config), "alerts")
    assert result.returncode == 2
    assert "HOOK_SECRET" in result.stderr and result.stderr.count("\n") == 1


def test_defwatch_alerts_delivers_and_reports(
    defwatch: Defwatch, pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(channels(receiver).replace('secret = "${HOOK_SECRET}"\n', ""))
    p.save("https://www.mod.go.jp/j/press/news/2025/10/1.html", "mod", "ASEAN", "本文")
    p.save("https://www.mod.go.jp/j/press/news/2025/10/2.html", "mod", "ASEAN 2", "本文")
    receiver.answer(Answer(200), Answer(500, "flaky"))
    first = defwatch("--config", str(p.config_path), "alerts")
    assert first.returncode == 1  # something is left to retry
    lines = first.stdout.splitlines()
    assert lines[0] == "alerts: 3 sent, 1 to retry, 0 failed now; outbox: 1 pending, 0 failed, 3 sent"
    assert lines[1] == "  hook: HTTP 500 Internal Server Error: flaky"
    second = defwatch("--config", str(p.config_path), "alerts")
    assert second.returncode == 0
    assert second.stdout.startswith("alerts: 1 sent, 0 to retry")
    # the file channel wrote one JSON line per delivery, in the webhook's shape
    logged = [json.loads(x) for x in (p.folder / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(d["story"]["title"] for d in logged) == ["ASEAN", "ASEAN 2"]


def test_a_cycle_with_every_channel_removed_still_reports_what_was_left_for_them(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    """A cycle with no channel configured skips the alert stage, unless deliveries wait in
    the outbox for channels since removed: those are still told about, as with channels."""
    from core.config import load_config
    from scheduler.steps import deliver_alerts

    p = pipeline(channels(receiver).replace('secret = "${HOOK_SECRET}"\n', ""))
    p.save("https://www.mod.go.jp/j/press/news/2025/10/17a.html", "mod", "ASEAN 国防相会議", "本文")
    assert {row["channel"] for row in p.deliveries()} == {"hook", "log"}
    without = load_config(write_config(p.folder, "", alerts='once_wait = "0s"'), environ={})
    assert not without.channels
    report = deliver_alerts(without, p.store)
    assert report is not None and report.retrying == 2
    rows = p.deliveries()
    assert all(r["status"] == "pending" and "is not configured" in r["last_error"] for r in rows), rows
    assert receiver.requests == []
