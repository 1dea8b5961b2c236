"""What every channel shares: the message it is handed, the receipt it gives back, a
timeout and a rate limit. A channel sends one message and says what the receiver answered;
retrying, backing off and recording are the dispatcher's job."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, ClassVar

from core.channels import ChannelOptions
from core.logs import mask, secret_forms

if TYPE_CHECKING:
    from core.config import ChannelConfig

__all__ = ["CHANNELS", "Batch", "Channel", "ChannelError", "Digest", "Message", "RateLimiter", "Receipt"]

CHANNELS: dict[str, type[Channel]] = {}


class ChannelError(Exception):
    """A channel could not deliver for a reason of its own (e.g. TLS required, not offered)."""


@dataclass(frozen=True)
class Message:
    """One delivery as a channel sees it: the stable id and what to say."""

    id: str
    payload: Mapping[str, Any]
    targets_done: tuple[str, ...] = ()  # targets of a many-target channel that already have it

    def body(self) -> dict[str, Any]:
        """The webhook document (docs/interface.md): the id first, then the payload."""
        return {"id": self.id, **self.payload}


@dataclass(frozen=True)
class Digest:
    """Several deliveries sent as one message, under an id of its own."""

    id: str
    messages: tuple[Message, ...]
    targets_done: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "digest": [m.body() for m in self.messages]}


@dataclass(frozen=True)
class Batch:
    """Several deliveries handed over in one send, each still its own message (the file
    channel appends them as lines with one write and one flush to disk): one receipt for all."""

    messages: tuple[Message, ...]

    @property
    def id(self) -> str:
        return self.messages[0].id


@dataclass(frozen=True)
class Receipt:
    """What the receiver answered. ``retry_after``: seconds it asked us to wait. ``scope`` of
    a failure: ``delivery`` (this one backs off, the others go on), ``channel`` (the receiver
    is down or asked us to wait: the channel pauses) or ``permanent`` (no retry will help:
    give up at once, e.g. HTTP 410 Gone, SMTP 550)."""

    ok: bool
    answer: str
    retry_after: float | None = None
    scope: str = "channel"
    targets_done: tuple[str, ...] | None = None  # many-target channels: those that now have it


class RateLimiter:
    """At least ``interval`` seconds between two sends to one receiver, across every
    channel (and thread) that talks to it: two Slack channels on one webhook URL share one."""

    _shared: ClassVar[dict[str, RateLimiter]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: float | None = None

    @classmethod
    def for_key(cls, key: str, interval: float) -> RateLimiter:
        with cls._shared_lock:
            limiter = cls._shared.get(key)
            if limiter is None:
                limiter = cls._shared[key] = cls(interval)
            limiter.interval = max(limiter.interval, interval)
            return limiter

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and self.interval > 0:
                pause = self._last + self.interval - now
                if pause > 0:
                    time.sleep(pause)
            self._last = time.monotonic()


class Channel:
    """A configured way of telling someone. Subclasses register by ``type``
    (``class SlackChannel(Channel, type="slack")``), take a plain constructor and build
    themselves from configuration in ``from_config``."""

    type: ClassVar[str]
    # Deliveries one send may carry as a Batch (send_batch); 1: one message a send.
    batch: ClassVar[int] = 1

    def __init_subclass__(cls, type: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type is not None:
            cls.type = type
            CHANNELS[type] = cls

    def __init__(
        self,
        name: str,
        *,
        # The declared defaults (core/channels/base.py), for channels built without a config.
        timeout: float = ChannelOptions.timeout,
        min_interval: float = ChannelOptions.min_interval,
        digest: float | None = ChannelOptions.digest,
        language: str = ChannelOptions.language,
        title_template: str | None = ChannelOptions.title_template,
        body_template: str | None = ChannelOptions.body_template,
    ) -> None:
        from alerts.templates import Templates

        self.name = name
        self.timeout = timeout  # seconds for a whole attempt: connect, send and read
        self.min_interval = min_interval
        self.digest = digest  # seconds: deliveries of one window go out as one message
        # Compiled and tried on a sample now: a broken template fails at start-up.
        self.templates = Templates(name, language, title_template, body_template)

    @property
    def templated(self) -> bool:
        """A template or a language other than today's English wording was chosen."""
        return self.templates.custom or self.templates.language != "en"

    def render(self, payload: Mapping[str, Any]) -> Any:
        """Title and body by the channel's templates (alerts.templates.Rendered)."""
        return self.templates.render(payload)

    @cached_property
    def limiter(self) -> RateLimiter:
        key = self.rate_key()
        return RateLimiter(self.min_interval) if key is None else RateLimiter.for_key(key, self.min_interval)

    def __repr__(self) -> str:  # never the URL: it may hold a token
        return f"{type(self).__name__}(name={self.name!r})"

    @staticmethod
    def shared(options: ChannelOptions) -> dict[str, Any]:
        """The keys every channel type takes (core/channels/base.py declares them), as the
        constructor's keyword arguments."""
        return {o.name: getattr(options, o.name) for o in ChannelOptions.declared()}

    @classmethod
    def from_config(cls, config: ChannelConfig) -> Channel:
        raise NotImplementedError

    # -- what a channel type provides ------------------------------------------------------
    def rate_key(self) -> str | None:
        """Who the rate limit protects (e.g. a webhook URL); None: this channel alone."""
        return None

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in an error recorded or printed."""
        return ()

    def send(self, message: Message) -> Receipt:
        raise NotImplementedError

    def send_digest(self, digest: Digest) -> Receipt:
        raise NotImplementedError

    def send_batch(self, batch: Batch) -> Receipt:
        """Only for channels whose ``batch`` is above 1."""
        raise NotImplementedError

    # -- what the dispatcher calls -----------------------------------------------------------
    def deliver(self, item: Message | Digest | Batch) -> Receipt:
        """Send under the rate limit; a failure to reach the receiver is a receipt too."""
        self.limiter.wait()
        try:
            if isinstance(item, Digest):
                return self.send_digest(item)
            if isinstance(item, Batch):
                return self.send_batch(item)
            return self.send(item)
        except (OSError, HTTPException, ChannelError) as exc:  # smtplib, ssl and socket errors are OSErrors
            return Receipt(False, self.describe(exc), scope="channel")

    def describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self.scrub(text)

    def scrub(self, text: str) -> str:
        forms = {f for secret in self.secrets() if secret and len(secret) >= 4 for f in secret_forms(secret)}
        for form in sorted(forms, key=len, reverse=True):  # raw, percent-encoded, base64
            text = text.replace(form, "***")
        text = mask(text)
        return text if len(text) <= 500 else text[:499] + "…"
