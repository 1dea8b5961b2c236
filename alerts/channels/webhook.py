"""``type = "webhook"``: POST the interface.md JSON document, with the stable delivery id in
``X-Defwatch-Delivery`` and, when a secret is set, an HMAC-SHA256 signature of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests

from alerts.channels.base import Channel, Digest, Message, Receipt

if TYPE_CHECKING:
    from scheduler.config import ChannelConfig

USER_AGENT = "defwatch (alerts)"
ANSWER_LIMIT = 300


def signature(secret: str, body: bytes) -> str:
    """The ``X-Defwatch-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


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


def http_receipt(response: requests.Response) -> Receipt:
    """Any 2xx is success; 429 and 503 may say when to come back."""
    text = response.text.strip().replace("\n", " ")
    if len(text) > ANSWER_LIMIT:
        text = text[: ANSWER_LIMIT - 1] + "…"
    answer = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
    if text:
        answer += f": {text}"
    retry_after = None
    if response.status_code in (429, 503):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return Receipt(200 <= response.status_code < 300, answer, retry_after)


class HttpChannel(Channel):
    """A channel that POSTs JSON to one URL."""

    def __init__(self, name: str, url: str, **common: Any) -> None:
        super().__init__(name, **common)
        self.url = url

    def rate_key(self) -> str | None:
        return f"url:{self.url}"

    def secrets(self) -> tuple[str, ...]:
        path = self.url.split("://", 1)[-1].partition("/")[2]
        return (self.url, path) if path else (self.url,)

    def post(self, body: bytes, headers: dict[str, str]) -> Receipt:
        response = requests.post(
            self.url,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers},
            timeout=self.timeout,
            allow_redirects=False,
        )
        receipt = http_receipt(response)
        return Receipt(receipt.ok, self.scrub(receipt.answer), receipt.retry_after)


class WebhookChannel(HttpChannel, type="webhook"):
    def __init__(self, name: str, url: str, *, secret: str | None = None, **common: Any) -> None:
        super().__init__(name, url, **common)
        self.secret = secret

    @classmethod
    def from_config(cls, config: ChannelConfig) -> WebhookChannel:
        o = config.options
        return cls(config.name, o["url"], secret=o.get("secret"), **cls.common_options(config))

    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets(), *((self.secret,) if self.secret else ()))

    def encode(self, document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"X-Defwatch-Delivery": document["id"]}
        if self.secret:
            headers["X-Defwatch-Signature"] = signature(self.secret, body)
        return body, headers

    def send(self, message: Message) -> Receipt:
        return self.post(*self.encode(message.body()))

    def send_digest(self, digest: Digest) -> Receipt:
        return self.post(*self.encode(digest.body()))
