"""``defwatch alerts [--retry-failed]`` and ``defwatch alerts test CHANNEL`` (alerts.command)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "deliver what is pending in the outbox now; 'alerts test CHANNEL'"
EXAMPLES = """\
  defwatch alerts                     # deliver what is due now
  defwatch alerts --retry-failed      # give failed deliveries another go first
  defwatch alerts test hook           # one test message through the channel "hook"
see docs/alerts.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=("test",),
        help="'test' sends one test message through CHANNEL (default: deliver what is due)",
    )
    p.add_argument(
        "channel", nargs="?", metavar="CHANNEL", help="a channel's name from [channels] (with 'test')"
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="put failed deliveries back in the queue first"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from alerts.command import main as alerts_main

    return alerts_main(args, config)
