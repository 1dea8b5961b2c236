"""``defwatch crawl [SOURCE...]``: crawl now and print a summary (crawler.runner)."""

from __future__ import annotations

import argparse
import os
import sys

from core.config import Config
from core.model import FAILED_OUTCOMES, RunResult

HELP = "crawl now (all sources, or those named) and print a summary"
EXAMPLES = """\
  defwatch crawl                      # every enabled source, a table at the end
  defwatch crawl jdefense             # one source
  defwatch -v crawl mod               # with each failed request and Scrapy's own lines"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a source's name from the configuration (default: every enabled source)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from core.errors import CommandError
    from crawler.precheck import PRECHECK_ENV
    from crawler.runner import CrawlSetupError
    from crawler.runner import crawl as run_crawl
    from ingest import Ingest
    from scheduler.lock import die_with_parent, inherited_lock, instance_lock
    from scheduler.progress import crawl_progress
    from scheduler.summary import print_crawl_summary

    die_with_parent()  # a crawl child of `run`: never outlive it
    child = inherited_lock() is not None
    try:
        with instance_lock(config.store.url), crawl_progress(sys.stderr) as progress:
            if not child:  # the lock is ours: no other crawl of this store is alive
                close_stale_runs(config)
            if config.crawl.scrapyd:
                results = _crawl_on_nodes(config, args.sources or None)
            else:
                # the daemon's crawl processes ask feeds first (crawler.precheck)
                precheck = os.environ.get(PRECHECK_ENV) == "1"
                results = run_crawl(
                    config, args.sources or None, progress=progress, ingest=Ingest, precheck=precheck
                )
    except CrawlSetupError as exc:
        raise CommandError(str(exc)) from None
    print_crawl_summary(results, sys.stdout)
    return 1 if any(r.outcome in FAILED_OUTCOMES for r in results) else 0


def _crawl_on_nodes(config: Config, names: list[str] | None) -> list[RunResult]:
    """``[crawl] scrapyd``: the sources are crawled as jobs on Scrapyd nodes (crawler.scrapyd)."""
    import logging

    from core.errors import CommandError
    from crawler.scrapyd import NodeError, crawl_on_nodes

    log = logging.getLogger("defwatch.scrapyd")
    try:
        return crawl_on_nodes(config, names, log=log.warning)
    except NodeError as exc:
        raise CommandError(str(exc)) from None


def close_stale_runs(config: Config) -> None:
    """With the store's lock held, a run still ``running`` is one whose crawl died (SIGKILL,
    a power cut): recorded ``interrupted``."""
    from scheduler.daemon import close_stale_runs as close
    from store import Store

    store = Store.open(config.store.url)
    try:
        close(store)
    finally:
        store.close()
