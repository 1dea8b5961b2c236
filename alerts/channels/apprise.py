"""``type = "apprise"``: every alert through the Apprise library to each of ``urls``
(``tgram://…``, ``msteams://…``, ``discord://…``, ``ntfy://…``, ``json://host/path``…), one
message per delivery, with the channel's title and body templates.

Each URL is tracked in the outbox: a delivery records which targets have it, so a retry goes
only to those that failed, and no target gets it twice. A failing target pauses the channel
(the backoff, give-up and ops alerts are the other channels'). An attempt has a total
deadline: Apprise's own timeouts are per socket operation, so the send runs in a worker thread
that is left behind when the deadline passes: the attempt is recorded as failed and retried.
The thread is kept by delivery and target, so a retry while it is still sending does not send
again, and a send that completed late counts as delivered (never twice within a process). It
is a daemon thread: stopping defwatch does not wait for it, and the attempt it carried is due
again at the next start (at worst one duplicate, as for any send cut by a stop).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alerts.channels.base import Channel, Digest, Message, Receipt
from alerts.channels.deadline import STOPPING
from core.channels import AppriseOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig

__all__ = ["AppriseChannel", "masked_url", "target_key"]


def masked_url(url: str) -> str:
    """An Apprise URL for a message: the scheme only; tokens sit anywhere after it."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://***"


def _quiet_apprise() -> None:
    """Apprise logs the URLs it is given (tokens included): its records stay within the
    library; what a send went wrong on is taken from them (LogCapture) and masked."""
    logger = logging.getLogger("apprise")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def target_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class AppriseChannel(Channel, type="apprise"):
    def __init__(self, name: str, urls: Sequence[str], **common: Any) -> None:
        import apprise

        super().__init__(name, **common)
        _quiet_apprise()
        if not urls:
            raise ValueError(f"channels.{name}.urls: expected at least one Apprise URL")
        self.urls = tuple(urls)
        self._plugins: list[tuple[str, str, Any]] = []
        for url in self.urls:
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
            if plugin is None:
                raise ValueError(
                    f"channels.{name}.urls: Apprise cannot use {masked_url(url)} (unknown or malformed)"
                )
            # Per operation; the attempt as a whole is bounded by _one.
            plugin.socket_connect_timeout = self.timeout
            plugin.socket_read_timeout = self.timeout
            self._plugins.append((target_key(url), url, plugin))
        # Sends left behind at their deadline, by (delivery id, target): (thread, result).
        self._inflight: dict[tuple[str, str], tuple[threading.Thread, list[bool]]] = {}
        self._inflight_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: ChannelConfig) -> AppriseChannel:
        o = config.options
        assert isinstance(o, AppriseOptions)
        return cls(config.name, o.urls, **cls.shared(o))

    def secrets(self) -> tuple[str, ...]:
        return self.urls

    def send(self, message: Message) -> Receipt:
        rendered = self.render(message.payload)
        return self._notify(message.id, rendered.title, rendered.body, message.targets_done)

    def send_digest(self, digest: Digest) -> Receipt:
        count = len(digest.messages)
        parts = [self.render(m.payload) for m in digest.messages]
        body = "\n\n".join(f"{p.title}\n{p.body}" for p in parts)
        title = f"defwatch: {count} alert{'s' if count != 1 else ''}"
        return self._notify(digest.id, title, body, digest.targets_done)

    def _notify(self, delivery: str, title: str, body: str, done: Sequence[str]) -> Receipt:
        have = set(done)
        problems: list[str] = []
        for key, _url, plugin in self._plugins:
            if key in have:
                continue
            ok, why = self._one((delivery, key), plugin, title, body)
            if ok:
                have.add(key)
            else:
                problems.append(f"{plugin.url(privacy=True).split('?', 1)[0]}: {why}")
        targets = tuple(k for k, _, _ in self._plugins if k in have)
        if problems:
            return Receipt(False, self.scrub("; ".join(problems)), scope="channel", targets_done=targets)
        n = len(self._plugins)
        return Receipt(True, f"notified {n} target{'s' if n != 1 else ''}", targets_done=targets)

    def _one(self, inflight: tuple[str, str], plugin: Any, title: str, body: str) -> tuple[bool, str]:
        import apprise

        with self._inflight_lock:
            earlier = self._inflight.get(inflight)
            if earlier is not None and earlier[0].is_alive():
                return False, "the attempt left at its deadline is still sending (not sent again)"
            self._inflight.pop(inflight, None)
        if earlier is not None and earlier[1] and earlier[1][0]:
            return True, "ok (the attempt left at its deadline completed)"

        result: list[bool] = []
        with apprise.LogCapture(level=apprise.logging.WARNING) as logs:

            def run() -> None:
                try:
                    result.append(bool(plugin.notify(body=body, title=title)))
                except Exception:  # a library bug is this target's failure
                    result.append(False)

            worker = threading.Thread(target=run, name=f"apprise-{self.name}", daemon=True)
            worker.start()
            give_up = time.monotonic() + self.timeout
            # In slices, so a stop does not wait out the deadline.
            while worker.is_alive() and not STOPPING.is_set() and time.monotonic() < give_up:
                worker.join(min(0.1, max(0.0, give_up - time.monotonic())))
            said = " ".join(logs.getvalue().split())
        if worker.is_alive():
            with self._inflight_lock:
                self._inflight[inflight] = (worker, result)
            why = "stopped: defwatch is shutting down" if STOPPING.is_set() else None
            return (
                False,
                why or f"no complete answer within {self.timeout:g}s (total deadline of the attempt)",
            )
        if result and result[0]:
            return True, "ok"
        # The last thing Apprise said about it, without its time stamps.
        lines = [line.split(" - ", 2)[-1] for line in logs_lines(said)]
        return False, (lines[-1] if lines else "Apprise reported a failure")


def logs_lines(text: str) -> list[str]:
    import re

    return [p.strip() for p in re.split(r"(?=\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ - )", text) if p.strip()]
