"""Email over a real SMTP server (aiosmtpd): STARTTLS, SMTPS, a plain relay and
``require_tls``; the message decodes to the right Japanese subject and body, is multipart
text and HTML, and carries a Message-ID derived from the delivery id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from alerts.channels import Digest, Message
from alerts.channels.email import EmailChannel
from alerts.dispatcher import Dispatcher
from alerts.message import story_payload
from core.model import Story

from .conftest import Certificate, Pipeline, SmtpServer

TITLE = "日ASEAN防衛当局次官級会合の開催について"
STORY = Story(
    1,
    "https://www.mod.go.jp/j/press/news/2025/10/17b.pdf",
    "mod",
    TITLE,
    published=dt.datetime(2025, 10, 17, 7, 0, tzinfo=dt.UTC),
    summary="第17回日ASEAN防衛当局次官級会合を開催します。",
)


def message(n: int = 1) -> Message:
    return Message(
        f"{n:064x}", story_payload("asean", ["ASEAN"], STORY, ["https://j-defense.example/a"], "new")
    )


def channel(server: SmtpServer, certificate: Certificate, userinfo: str = "", **kw: object) -> EmailChannel:
    return EmailChannel(
        "ops-mail",
        server.url(userinfo),
        kw.pop("sender", "防衛ウォッチ <defwatch@example.org>"),  # type: ignore[arg-type]
        ["ops@example.org", "duty@example.org"],
        ssl_context=certificate.client_context(),
        timeout=5.0,
        **kw,  # type: ignore[arg-type]
    )


def parts(msg: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in msg.iter_parts()}


def test_starttls_with_credentials_and_a_japanese_message(
    smtp_server: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_server("starttls")
    receipt = channel(server, certificate, "alerts%40example.org:p%40ss%20w%3Ard").deliver(message())
    assert receipt.ok, receipt.answer
    assert receipt.answer == "SMTP 250 Message accepted for delivery"
    assert server.inbox.tls_used == [True]
    assert server.inbox.logins == [("alerts@example.org", "p@ss w:rd")]  # percent-decoded
    (envelope,) = server.inbox.envelopes
    assert envelope.mail_from == "defwatch@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "duty@example.org"]
    raw = envelope.original_content.decode("ascii")  # every header encoded: 7-bit on the wire
    assert "=?utf-8?" in raw.split("\r\n\r\n", 1)[0].lower()
    (msg,) = server.inbox.messages
    assert msg["Subject"] == f"[defwatch] asean: {TITLE}"
    assert msg["From"].addresses[0].display_name == "防衛ウォッチ"
    assert msg["Message-ID"] == f"<{'1':0>64}@example.org>"
    assert msg["X-Defwatch-Delivery"].strip() == f"{1:064x}"  # folded: 85 characters
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert set(body) == {"text/plain", "text/html"}
    text = body["text/plain"]
    assert text.startswith(f"{TITLE}\n{STORY.url}\n\n第17回日ASEAN防衛当局次官級会合を開催します。")
    assert "matched: ASEAN" in text and "published: 2025-10-17 16:00 JST" in text
    assert "also: https://j-defense.example/a" in text
    assert f'<a href="{STORY.url}">{TITLE}</a>' in body["text/html"]


def test_smtps_is_tls_from_the_first_byte(
    smtp_server: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_server("smtps")
    receipt = channel(server, certificate, "u:pw").deliver(message())
    assert receipt.ok, receipt.answer
    assert server.inbox.logins == [("u", "pw")]
    assert server.inbox.messages[0]["Subject"] == f"[defwatch] asean: {TITLE}"


def test_a_relay_without_starttls_is_used_in_the_clear_unless_tls_is_required(
    smtp_server: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_server("plain")
    assert channel(server, certificate).deliver(message(1)).ok
    assert server.inbox.tls_used == [False]
    refused = channel(server, certificate, require_tls=True).deliver(message(2))
    assert not refused.ok
    assert "offers no STARTTLS and require_tls is set" in refused.answer
    assert len(server.inbox.envelopes) == 1  # nothing more was sent


def test_an_untrusted_certificate_is_refused(
    smtp_server: Callable[..., SmtpServer], certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = smtp_server("starttls")
    untrusting = EmailChannel("m", server.url(), "defwatch@example.org", ["ops@example.org"], timeout=5.0)
    receipt = untrusting.deliver(message())
    assert not receipt.ok and "CERTIFICATE_VERIFY_FAILED" in receipt.answer
    assert server.inbox.envelopes == []


def test_the_password_never_appears_in_an_error(certificate: Certificate) -> None:
    from .conftest import free_port

    dead = EmailChannel(
        "m", f"smtp://u:hunter2secret@127.0.0.1:{free_port()}", "a@example.org", ["b@example.org"], timeout=1
    )
    receipt = dead.deliver(message())
    assert not receipt.ok and "hunter2secret" not in receipt.answer


def test_a_digest_is_one_message_listing_every_delivery(
    smtp_server: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_server("starttls")
    digest = Digest("d" * 64, (message(1), message(2), message(3)))
    assert channel(server, certificate, sender="defwatch@example.org").deliver(digest).ok
    (msg,) = server.inbox.messages
    assert msg["Subject"] == "[defwatch] 3 alerts: asean"
    assert parts(msg)["text/plain"].count(TITLE) == 3


def test_configured_email_channel_through_the_dispatcher(
    pipeline: Callable[..., Pipeline],
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))  # the system trust store, extended
    server = smtp_server("starttls")
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["ops-mail"]

[channels.ops-mail]
type = "email"
smtp_url = "{server.url("ops:secret")}"
from = "defwatch@example.org"
to = ["ops@example.org"]
require_tls = true
"""
    )
    p.save(STORY.url, "mod", TITLE, "ASEAN加盟国の代表が参加")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.sent == 1, report.errors
    (msg,) = server.inbox.messages
    (row,) = p.deliveries()
    assert msg["Message-ID"] == f"<{row['id']}@example.org>"
    assert msg["Subject"] == f"[defwatch] asean: {TITLE}"
