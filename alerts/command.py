"""``defwatch alerts``: deliver what is due (after queueing any operations alerts),
``--retry-failed`` to put failed deliveries back first, and ``alerts test CHANNEL`` to send
one test message and show what the receiver answered."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from alerts.channels import Message, build_channel
from alerts.dispatcher import Dispatcher, DispatchReport
from alerts.message import test_payload
from alerts.ops import check_sources
from alerts.outbox import delivery_id
from core.errors import CommandError
from core.logs import mask
from store import outbox as db

if TYPE_CHECKING:
    import argparse

    from core.config import Config
    from store import Store

__all__ = ["check_channels", "deliver", "main", "requeue_failed", "test_channel"]


def check_channels(config: Config) -> None:
    """Build every configured channel once: a template that does not compile or render, an
    Apprise URL it cannot use, is a one-line configuration error at start-up (exit 2)."""
    for channel in config.channels.values():
        try:
            build_channel(channel)
        except ValueError as exc:  # TemplateConfigError is one
            where = config.path or "the configuration"
            raise CommandError(f"{where}: {exc}") from None


def requeue_failed(store: Store) -> int:
    """Failed deliveries back to pending, due now, with a fresh give-up clock."""
    with store.transaction() as conn:
        return db.requeue_failed(conn, datetime.now(UTC))


def deliver(config: Config, store: Store, time_budget: float | None = None) -> DispatchReport:
    """One alerts step of a cycle: operations alerts, then everything due. The daemon calls
    this after its crawls; ``defwatch alerts`` calls it once."""
    check_sources(store, config)
    return Dispatcher.from_config(config, store).run(time_budget)


def test_channel(config: Config, name: str | None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    if not name:
        raise CommandError(f"alerts test: name a channel{_configured(config)}")
    if name not in config.channels:
        raise CommandError(f"alerts test: no channel named {name!r}{_configured(config)}")
    channel = build_channel(config.channels[name])
    now = datetime.now(UTC)
    message = Message(delivery_id("test", name, now.isoformat()), test_payload(name, now))
    receipt = channel.deliver(message)
    verdict = "ok" if receipt.ok else "FAILED"
    print(mask(f"{name} ({channel.type}): {verdict}: {receipt.answer}"), file=out)
    return 0 if receipt.ok else 1


def main(args: argparse.Namespace, config: Config, out: IO[str] | None = None) -> int:
    """What ``scheduler.commands.alerts`` runs."""
    check_channels(config)
    if args.action == "test":
        return test_channel(config, args.channel, out)
    if args.channel:
        raise CommandError("alerts: a channel is named only with 'alerts test CHANNEL'")
    out = out or sys.stdout
    from store import Store

    store = Store.open(config.store.url, create=False)
    try:
        if args.retry_failed:
            n = requeue_failed(store)
            print(f"requeued {n} failed deliver{'y' if n == 1 else 'ies'}", file=out)
        report = deliver(config, store)
        counts = store.delivery_counts()
    finally:
        store.close()
    print(
        f"alerts: {report.sent} sent, {report.retrying} to retry, {report.failed} failed now; "
        f"outbox: {counts['pending']} pending, {counts['failed']} failed, {counts['sent']} sent",
        file=out,
    )
    for error in report.errors:
        print(mask(f"  {error}"), file=out)
    return 0 if report.ok else 1


def _configured(config: Config) -> str:
    names = sorted(config.channels)
    return f" (configured: {', '.join(names)})" if names else " (no channels configured)"
