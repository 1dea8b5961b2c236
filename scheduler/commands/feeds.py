"""``defwatch feeds``: rebuild every feed from the store (feeds.command)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "rebuild every feed from the store"
EXAMPLES = """\
  defwatch feeds                      # public/*.rss, *.atom and index.opml (RSS links)
  defwatch feeds --format atom        # index.opml lists the .atom files
see docs/feeds.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("rss", "atom"),
        help="which file of each feed index.opml lists (default: [feeds] opml_format, which is rss)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from feeds.command import feeds as feeds_command

    return feeds_command(args, config)
