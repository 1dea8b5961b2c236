"""Hostile receivers: one delivery pass (the dispatcher ``defwatch alerts`` and the daemon
run) to a webhook that hangs, one that trickles, one that answers 200 after the deadline,
one that answers 410 Gone, one 429 with Retry-After, an SMTP server that refuses the
recipient (550) and one that is down. Each attempt ends at its total deadline; what is gone
for good is given up at once; the rest waits for its retry; nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from alerts.dispatcher import Dispatcher
from tests.alerts.conftest import Pipeline, free_port, pipeline  # noqa: F401 (the fixture)
from tests.faults.conftest import figure
from tests.faults.hostile import HostileServer

pytestmark = pytest.mark.timeout(180)

DEADLINE = 2  # each channel's timeout, seconds: the total deadline of one attempt


class RefusingInbox:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.1.1 mailbox unavailable"


@pytest.fixture
def receivers() -> Iterator[tuple[HostileServer, int, int]]:
    smtp_port, down_port = free_port(), free_port()
    controller = Controller(RefusingInbox(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with HostileServer() as hooks:
        yield hooks, smtp_port, down_port
    controller.stop()


def test_hostile_receivers_end_at_their_deadline_and_lose_nothing(
    pipeline: Callable[..., Pipeline],  # noqa: F811
    receivers: tuple[HostileServer, int, int],
) -> None:
    hooks, smtp_port, down_port = receivers
    webhooks = {
        "hang": hooks.hang("/hang"),
        "trickle": hooks.trickle("/trickle", every=0.3),
        "late": hooks.late("/late", DEADLINE + 2),
        "gone": hooks.status("/gone", 410),
        "busy": hooks.status("/busy", 429, {"Retry-After": "600"}),
    }
    channels = "".join(
        f'\n[channels.{name}]\ntype = "webhook"\nurl = "{url}"\ntimeout = "{DEADLINE}s"\n'
        for name, url in webhooks.items()
    )
    for name, port in (("smtp550", smtp_port), ("smtpdown", down_port)):
        channels += (
            f'\n[channels.{name}]\ntype = "email"\nsmtp_url = "smtp://127.0.0.1:{port}"\n'
            f'from = "defwatch@example.org"\nto = ["desk@example.org"]\ntimeout = "{DEADLINE}s"\n'
        )
    names = [*webhooks, "smtp550", "smtpdown"]
    p = pipeline(f'[[rules]]\nname = "all"\nregex = "."\nnotify = {names!r}\n'.replace("'", '"') + channels)
    p.save("http://example.org/news/1", "mod", "ASEAN 会合", "本文")

    start = time.monotonic()
    Dispatcher.from_config(p.config, p.store).run()
    took = time.monotonic() - start

    rows = {r["channel"]: r for r in p.deliveries()}
    assert set(rows) == set(names)  # one delivery each, none lost
    for name in ("hang", "trickle", "late", "smtpdown"):  # not delivered: tried again later
        assert rows[name]["status"] == "pending" and rows[name]["attempts"] == 1, rows[name]
    assert "deadline" in rows["trickle"]["last_error"], rows["trickle"]["last_error"]
    for name in ("gone", "smtp550"):  # gone for good: given up at once
        assert rows[name]["status"] == "failed" and rows[name]["attempts"] == 1, rows[name]
    assert "410" in rows["gone"]["last_error"] and "550" in rows["smtp550"]["last_error"]
    busy = rows["busy"]
    # Not asked again in the pass; its wait is Retry-After, at most [alerts] retry_max.
    assert busy["status"] == "pending" and "429" in busy["last_error"] and busy["attempts"] == 1
    figure(
        "hostile receivers (7 channels, one pass)",
        f"pass ended in {took:.1f} s (deadline {DEADLINE} s an attempt); hang, trickle, late 200, "
        "SMTP down: retried; 410, SMTP 550: given up at once; 429: not asked again in the pass; 0 lost",
    )
