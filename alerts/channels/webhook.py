"""``type = "webhook"``: POST the docs/interface.md JSON document. Headers: the stable delivery id
(``X-Defwatch-Delivery`` and Standard Webhooks' ``webhook-id``), this attempt's
``webhook-timestamp``, and with a secret both signatures: ``X-Defwatch-Signature`` (HMAC-SHA256
of the raw body) and ``webhook-signature`` (``v1,`` base64 HMAC-SHA256 of
``{id}.{timestamp}.{body}``, replay-safe)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from alerts.channels import deadline
from alerts.channels.base import Channel, Digest, Message, Receipt
from alerts.channels.deadline import HttpAnswer
from core.channels import WebhookOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig

USER_AGENT = "defwatch (alerts)"
ANSWER_LIMIT = 300


def signature(secret: str, body: bytes) -> str:
    """The ``X-Defwatch-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signing_key(secret: str) -> bytes:
    """Standard Webhooks: a ``whsec_`` secret is base64 after the prefix; any other secret is
    used as its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except ValueError:
            pass
    return secret.encode("utf-8")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of
    ``{id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# Answers that say the receiver (not this one delivery) is in trouble: the channel pauses.
CHANNEL_STATUSES = frozenset({408, 429, 502, 503, 504})
# Answers that no retry will change: the delivery fails at once.
PERMANENT_STATUSES = frozenset({410})


def http_receipt(answer: HttpAnswer) -> Receipt:
    """Any 2xx is success. 410 Gone: give up now. 408, 429, 502-504 and redirects (never
    followed for a POST): the receiver is in trouble, pause the channel (429 and 503 may say
    until when). Any other answer (4xx, 500): this delivery's trouble; it backs off alone."""
    text = " ".join(answer.text.split())
    if len(text) > ANSWER_LIMIT:
        text = text[: ANSWER_LIMIT - 1] + "…"
    status = answer.status
    said = f"HTTP {status} {answer.reason}".rstrip()
    if text:
        said += f": {text}"
    retry_after = None
    if status in (429, 503):
        retry_after = retry_after_seconds(answer.headers.get("retry-after"))
    if 200 <= status < 300:
        return Receipt(True, said)
    if 300 <= status < 400:
        where = answer.headers.get("location")
        said += f" (redirect to {where} not followed for a POST)" if where else " (redirect not followed)"
        return Receipt(False, said, retry_after, scope="channel")
    if status in PERMANENT_STATUSES:
        return Receipt(False, said, scope="permanent")
    if status in CHANNEL_STATUSES:
        return Receipt(False, said, retry_after, scope="channel")
    return Receipt(False, said, scope="delivery")


class HttpChannel(Channel):
    """A channel that POSTs JSON to one URL, the whole exchange within ``timeout``."""

    def __init__(self, name: str, url: str, **common: Any) -> None:
        super().__init__(name, **common)
        self.url = url

    def rate_key(self) -> str | None:
        return f"url:{self.url}"

    def secrets(self) -> tuple[str, ...]:
        path = self.url.split("://", 1)[-1].partition("/")[2]
        return (self.url, path) if path else (self.url,)

    def post(self, body: bytes, headers: dict[str, str]) -> Receipt:
        answer = deadline.post(
            self.url,
            body,
            {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers},
            self.timeout,
        )
        receipt = http_receipt(answer)
        return replace(receipt, answer=self.scrub(receipt.answer))


class WebhookChannel(HttpChannel, type="webhook"):
    def __init__(self, name: str, url: str, *, secret: str | None = None, **common: Any) -> None:
        super().__init__(name, url, **common)
        self.secret = secret

    @classmethod
    def from_config(cls, config: ChannelConfig) -> WebhookChannel:
        o = config.options
        assert isinstance(o, WebhookOptions)
        return cls(config.name, o.url, secret=o.secret, **cls.shared(o))

    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets(), *((self.secret,) if self.secret else ()))

    def encode(self, document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        # Standard Webhooks: the id is the delivery's (the same on every retry), the timestamp
        # this attempt's, so a receiver can refuse a replayed capture.
        headers = {
            "X-Defwatch-Delivery": document["id"],
            "webhook-id": document["id"],
            "webhook-timestamp": str(timestamp),
        }
        if self.secret:
            headers["X-Defwatch-Signature"] = signature(self.secret, body)
            headers["webhook-signature"] = standard_signature(self.secret, document["id"], timestamp, body)
        return body, headers

    def send(self, message: Message) -> Receipt:
        return self.post(*self.encode(message.body()))

    def send_digest(self, digest: Digest) -> Receipt:
        return self.post(*self.encode(digest.body()))
