"""``defwatch check [--connect]``: the configuration as defwatch reads it (scheduler.check)."""

from __future__ import annotations

import argparse
import sys

from core.config import Config

HELP = "what the configuration makes defwatch do; --connect also tries the store, sources, channels"
EXAMPLES = """\
  defwatch check                      # the file read, store, feeds, sources, rules, channels
  defwatch check --connect            # and whether each answers (exit 1 if one does not)
  defwatch --config /etc/defwatch/defwatch.toml check --connect"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--connect",
        action="store_true",
        help="open the store, send a HEAD to each source and web channel, an SMTP NOOP to each mail "
        "server; one line each, nothing sent",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from scheduler.check import check

    return check(config, args.connect, sys.stdout)
