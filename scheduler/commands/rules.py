"""``defwatch rules test NAME [--since 7d] [--backfill]`` (alerts.rules_command)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "'rules test NAME [--since 7d] [--backfill]': the stored stories a rule would alert on"
EXAMPLES = """\
  defwatch rules test asean                 # what the rule "asean" matched in the last 7 days
  defwatch rules test jinji --since 30d --backfill
see docs/alerts.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("test",), help="'test NAME': what the rule would alert on")
    p.add_argument("rule", metavar="NAME", help="a configured rule")
    p.add_argument(
        "--since",
        default="7d",
        metavar="DURATION",
        help="stories published (else stored) this long ago (default: 7d)",
    )
    p.add_argument(
        "--backfill", action="store_true", help="queue the alerts for them (once; delivered by the next pass)"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    import sys

    from alerts.rules_command import test_rule

    return test_rule(config, args.rule, args.since, args.backfill, sys.stdout)
