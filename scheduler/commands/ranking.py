"""``defwatch ranking``: the current reading ranking and its movements (rankings.history)."""

from __future__ import annotations

import argparse
import sys

from core.config import Config
from core.model import WINDOWS

HELP = "the current reading ranking and its movements"
EXAMPLES = """\
  defwatch ranking                    # the 24h list now and the last day's movements
  defwatch ranking --window 1w --since 7d
  defwatch ranking --chart ranking.png   # rank over time, rank 1 at the top
see docs/rankings.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", choices=WINDOWS, default="24h", help="which reading ranking")
    p.add_argument(
        "--since", metavar="DURATION", help="movements since this long ago, e.g. 24h, 7d (default: 24h)"
    )
    p.add_argument("--chart", metavar="FILE.png", help="draw rank over time to a PNG file")


def run(args: argparse.Namespace, config: Config) -> int:
    from rankings.history import ranking_command

    return ranking_command(config, args.window, args.since, args.chart, sys.stdout)
