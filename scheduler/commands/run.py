"""``defwatch run [--once]``: the daemon (scheduler.daemon)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "the daemon: every source on its schedule, then ranking, alerts, feeds"
EXAMPLES = """\
  defwatch run                        # until Ctrl-C or SIGTERM (exit 0)
  defwatch run --once                 # one cycle, for system cron (silent when all is well)
  defwatch --log-format json run      # one JSON document per log line, for a log shipper
see docs/operations.md (systemd, cron, Docker)"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--once", action="store_true", help="one full cycle for every source, then exit (for system cron)"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from scheduler.daemon import run as run_daemon

    return run_daemon(config, once=args.once, verbosity=args.verbose, log_format=args.log_format)
