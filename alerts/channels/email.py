"""``type = "email"``: one message per delivery over SMTP. ``smtp://`` upgrades with STARTTLS
when the server offers it (and, with ``require_tls``, refuses a server that does not);
``smtps://`` is TLS from the first byte. Messages are multipart text and HTML, headers with
Japanese are encoded per RFC 2047, and the Message-ID derives from the delivery id so that a
message sent twice (after a crash) is recognisably one."""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from alerts.channels.base import Channel, ChannelError, Digest, Message, Receipt
from alerts.channels.deadline import watch
from alerts.message import JST, cut, facts, headline
from alerts.templates import Rendered
from core.channels import EmailOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class EmailChannel(Channel, type="email"):
    def __init__(
        self,
        name: str,
        smtp_url: str,
        sender: str,
        to: Sequence[str],
        *,
        require_tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        list_unsubscribe: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        self.list_unsubscribe = list_unsubscribe
        parts = urlsplit(smtp_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"channel {name}: smtp_url must be smtp://host[:port] or smtps://host[:port]")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self._smtp_url = smtp_url
        self.sender = sender
        self.to = tuple(to)
        self.require_tls = require_tls
        # None: the system's trust store (SSL_CERT_FILE is honoured), hostname checked.
        self.ssl_context = ssl_context

    @classmethod
    def from_config(cls, config: ChannelConfig) -> EmailChannel:
        o = config.options
        assert isinstance(o, EmailOptions)
        return cls(
            config.name,
            o.smtp_url,
            o.sender,
            o.to,
            require_tls=o.require_tls,
            list_unsubscribe=o.list_unsubscribe,
            **cls.shared(o),
        )

    def rate_key(self) -> str | None:
        return f"smtp:{self.host}:{self.port}"

    def secrets(self) -> tuple[str, ...]:
        values = [self._smtp_url]
        if self.password:
            values += [self.password, _raw_password(self._smtp_url)]
        return tuple(v for v in values if v)

    # -- sending -----------------------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        if self.templated:
            rendered = self.render(message.payload)
            subject = rendered.title if self.templates.custom else f"[defwatch] {rendered.title}"
            msg = compose(
                message.id,
                self.sender,
                self.to,
                [message.payload],
                cut(subject, SUBJECT_LIMIT + 50),
                rendered=[rendered],
                channel=self.name,
                unsubscribe=self.list_unsubscribe or "",
            )
        else:
            msg = compose(
                message.id,
                self.sender,
                self.to,
                [message.payload],
                subject_for(message),
                channel=self.name,
                unsubscribe=self.list_unsubscribe or "",
            )
        return self._send(msg)

    def send_digest(self, digest: Digest) -> Receipt:
        payloads = [m.payload for m in digest.messages]
        rendered = [self.render(p) for p in payloads] if self.templated else None
        subject = digest_subject(payloads)
        return self._send(
            compose(
                digest.id,
                self.sender,
                self.to,
                payloads,
                subject,
                rendered=rendered,
                channel=self.name,
                unsubscribe=self.list_unsubscribe or "",
            )
        )

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self, holder: list[smtplib.SMTP]) -> smtplib.SMTP:
        local = socket.gethostname() or "localhost"  # not getfqdn(): no DNS lookup
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(local_hostname=local, timeout=self.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(local_hostname=local, timeout=self.timeout)
        smtp._host = self.host  # type: ignore[attr-defined]  # what TLS checks the certificate against
        holder.append(smtp)  # from here on the deadline's watchdog can cut its socket
        code, reply = smtp.connect(self.host, self.port)
        if code != 220:
            _close(smtp)
            raise smtplib.SMTPConnectError(code, reply)
        smtp.ehlo()
        if not self.implicit_tls:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._context())
                smtp.ehlo()
            elif self.require_tls:
                _close(smtp)
                raise ChannelError(
                    f"{self.host}:{self.port} offers no STARTTLS and require_tls is set; nothing was sent"
                )
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = ", ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
            return self.scrub(f"SMTP recipients refused: {refused}")
        return super().describe(exc)

    def _send(self, msg: EmailMessage) -> Receipt:
        envelope_from = parseaddr(self.sender)[1] or self.sender
        recipients = [parseaddr(r)[1] or r for r in self.to]
        holder: list[smtplib.SMTP] = []
        data = msg.as_bytes(policy=SMTP_POLICY)
        with watch(self.timeout, lambda: holder[0].sock if holder else None):
            smtp = self._connect(holder)
            try:
                code, reply = smtp.mail(envelope_from)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
                refused: dict[str, tuple[int, bytes]] = {}
                for rcpt in recipients:
                    code, reply = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        refused[rcpt] = (code, reply)
                if len(refused) == len(recipients):
                    smtp.rset()
                    # A 5xx for every recipient (550 mailbox unavailable...): no retry helps.
                    permanent = all(c >= 500 for c, _ in refused.values())
                    exc = smtplib.SMTPRecipientsRefused(refused)  # type: ignore[arg-type]
                    return Receipt(False, self.describe(exc), scope="permanent" if permanent else "channel")
                try:
                    code, reply = smtp.data(data)
                except smtplib.SMTPDataError as exc:
                    code = exc.smtp_code
                    reply = (
                        exc.smtp_error if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error).encode()
                    )
                if code != 250:
                    # 5xx to the message itself (552 too big, 554 refused): permanent.
                    return Receipt(
                        False,
                        self.scrub(f"SMTP {code} {_text(reply)}"),
                        scope="permanent" if code >= 500 else "channel",
                    )
            finally:
                _close(smtp)
        answer = f"SMTP {code} {reply.decode('utf-8', 'replace').strip()}"
        if refused:
            answer += "; refused: " + ", ".join(f"{r} ({c})" for r, (c, _) in refused.items())
        return Receipt(True, self.scrub(answer))


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _raw_password(url: str) -> str:
    netloc = urlsplit(url).netloc
    userinfo = netloc.rpartition("@")[0]
    return userinfo.partition(":")[2]


# -- composing -----------------------------------------------------------------------------------


SUBJECT_LIMIT = 200  # characters of the headline in a subject


def subject_for(message: Message) -> str:
    payload = message.payload
    line = cut(headline(payload), SUBJECT_LIMIT)
    if payload.get("event") == "ops":
        return f"[defwatch] {line}"
    return f"[defwatch] {payload.get('rule')}: {line}"


def digest_subject(payloads: Sequence[Mapping[str, Any]]) -> str:
    rules = ", ".join(sorted({str(p.get("rule")) for p in payloads}))
    n = len(payloads)
    return f"[defwatch] {n} alert{'s' if n != 1 else ''}: {rules}"


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "defwatch.invalid"


def compose(
    delivery_id: str,
    sender: str,
    to: Sequence[str],
    payloads: Sequence[Mapping[str, Any]],
    subject: str,
    now: datetime | None = None,
    *,
    channel: str = "alerts",
    unsubscribe: str = "",
    rendered: Sequence[Rendered] | None = None,
) -> EmailMessage:
    """The message. It says it is automatic (``Auto-Submitted``, so auto-responders stay
    quiet, RFC 3834), which list it comes from (``List-Id``, for filters) and, when
    configured, how to leave it (``List-Unsubscribe``). With ``rendered`` (templates) the
    bodies are those texts; otherwise today's English layout."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime((now or datetime.now(JST)).astimezone(JST))
    msg["Message-ID"] = f"<{delivery_id}@{_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Id"] = f"defwatch {channel} <{channel}.defwatch.{_domain(sender)}>"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["X-Defwatch-Delivery"] = delivery_id
    if rendered is not None:
        text = "\n\n----\n\n".join(r.body for r in rendered) + f"\n-- \ndefwatch delivery {delivery_id}\n"
        markup = rendered_html(payloads, rendered, delivery_id)
    else:
        text, markup = text_body(payloads, delivery_id), html_body(payloads, delivery_id)
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(markup, subtype="html", charset="utf-8")
    return msg


def rendered_html(
    payloads: Sequence[Mapping[str, Any]], rendered: Sequence[Rendered], delivery_id: str
) -> str:
    e = html.escape
    items = []
    for payload, r in zip(payloads, rendered, strict=True):
        url = (payload.get("story") or {}).get("url")
        title = e(r.title)
        if url:
            title = f'<a href="{e(url)}">{title}</a>'
        items.append(f"<h3>{title}</h3>\n<p>{e(r.body).replace(chr(10), '<br>')}</p>")
    body = "\n<hr>\n".join(items)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f'{body}\n<p style="color:#888">defwatch delivery {e(delivery_id)}</p>\n</body></html>\n'
    )


def text_body(payloads: Sequence[Mapping[str, Any]], delivery_id: str) -> str:
    parts = []
    for payload in payloads:
        story = payload.get("story") or {}
        lines = [headline(payload)]
        if story.get("url"):
            lines.append(story["url"])
        if story.get("summary"):
            lines += ["", story["summary"]]
        lines.append("")
        lines += [f"{label}: {value}" for label, value in facts(payload)]
        if story.get("also"):
            lines.append("also: " + " ".join(story["also"]))
        parts.append("\n".join(lines))
    return "\n\n----\n\n".join(parts) + f"\n\n-- \ndefwatch delivery {delivery_id}\n"


def html_body(payloads: Sequence[Mapping[str, Any]], delivery_id: str) -> str:
    e = html.escape
    items = []
    for payload in payloads:
        story = payload.get("story") or {}
        title = e(headline(payload))
        if story.get("url"):
            title = f'<a href="{e(story["url"])}">{title}</a>'
        block = [f"<h3>{title}</h3>"]
        if story.get("summary"):
            block.append(f"<p>{e(story['summary'])}</p>")
        rows = "".join(f"<tr><th align=left>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts(payload))
        block.append(f"<table>{rows}</table>")
        if story.get("also"):
            links = ", ".join(f'<a href="{e(u)}">{e(u)}</a>' for u in story["also"])
            block.append(f"<p>also: {links}</p>")
        items.append("\n".join(block))
    body = "\n<hr>\n".join(items)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f'{body}\n<p style="color:#888">defwatch delivery {e(delivery_id)}</p>\n</body></html>\n'
    )
