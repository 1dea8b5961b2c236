"""``defwatch run [--once]``: take the store's lock, then the daemon (scheduler.daemon) or one cycle."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import IO

from core.config import Config
from core.errors import CommandError

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
    return run_daemon(config, once=args.once, verbosity=args.verbose, log_format=args.log_format)


def run_daemon(
    config: Config,
    *,
    once: bool = False,
    verbosity: int = 0,
    log_format: str = "text",
    out: IO[str] | None = None,
) -> int:
    """``defwatch run [--once]``: take the store's lock, then run the daemon or one cycle."""
    from scheduler.daemon import ChildOptions, Daemon
    from scheduler.lock import instance_lock
    from scheduler.steps import check_alert_channels
    from store import Store

    if not any(s.enabled for s in config.sources):
        where = config.path or "the configuration"
        raise CommandError(f"{where}: no enabled source to run")
    check_alert_channels(config)  # a broken template or Apprise URL: one line, before anything runs
    logging.captureWarnings(True)  # a warning is a log event too (one line, JSON if asked)
    if not logging.getLogger("scheduler.daemon").isEnabledFor(
        logging.DEBUG
    ):  # -v: our own line per crawl says it all
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with instance_lock(config.store.url) as lock:
        store = Store.open(config.store.url)
        try:
            options = ChildOptions(config.path, verbosity, log_format, fork=once)
            daemon = Daemon(config, store, options, lock)
            if not once:
                return daemon.run_forever(banner=lambda due_now: _banner(config, due_now))
            code, results = daemon.run_once()
        finally:
            store.close()
    out = out or sys.stdout
    if out.isatty():  # cron gets silence on success; a person at a terminal gets the table
        from scheduler.summary import print_crawl_summary

        print_crawl_summary(results, out)
    return code


def _banner(config: Config, due_now: Sequence[str]) -> None:
    """What the daemon will do, at INFO, shown without -v (a person starting it wants to
    know which configuration it read and how to stop it; -q-like quiet is --log-format json
    piped to a shipper, where these are events like any other)."""
    from scheduler.overview import banner_lines

    banner = logging.getLogger("defwatch")
    if banner.getEffectiveLevel() > logging.INFO:
        banner.setLevel(logging.INFO)
    for line in banner_lines(config, due_now=set(due_now)):
        banner.info("%s", line)
