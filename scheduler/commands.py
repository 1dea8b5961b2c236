"""What each ``defwatch`` command does, given parsed arguments and the configuration."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from core.config import Config
from core.model import FAILED_OUTCOMES
from scheduler.status import collect_status, render_status


def _not_built(name: str) -> int:
    from core.errors import CommandError

    raise CommandError(f"{name}: not built yet", code=2)


def open_store(config: Config, create: bool = True) -> Any:
    """The store; a read-only command passes ``create=False`` (no store yet: exit 2)."""
    from store import Store

    return Store.open(config.store.url, create=create)


def status(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config, create=False)
    try:
        report = collect_status(config, store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=_json_default))
    else:
        render_status(report, sys.stdout)
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def crawl(args: argparse.Namespace, config: Config) -> int:
    from core.errors import CommandError
    from crawler.runner import CrawlSetupError
    from crawler.runner import crawl as run_crawl
    from scheduler.lock import die_with_parent, inherited_lock, instance_lock
    from scheduler.progress import crawl_progress
    from scheduler.summary import print_crawl_summary

    die_with_parent()  # a crawl child of `run`: never outlive it
    child = inherited_lock() is not None
    try:
        with instance_lock(config.store.url), crawl_progress(sys.stderr) as progress:
            if not child:  # the lock is ours: no other crawl of this store is alive
                close_stale_runs(config)
            summaries = run_crawl(config, args.sources or None, progress=progress)
    except CrawlSetupError as exc:
        raise CommandError(str(exc)) from None
    print_crawl_summary(summaries, sys.stdout)
    return 1 if any(s.outcome in FAILED_OUTCOMES for s in summaries) else 0


def close_stale_runs(config: Config) -> None:
    """With the store's lock held, a run still ``running`` is one whose crawl died (SIGKILL,
    a power cut): recorded ``interrupted``."""
    from scheduler.daemon import close_stale_runs as close

    store = open_store(config)
    try:
        close(store)
    finally:
        store.close()


def run(args: argparse.Namespace, config: Config) -> int:
    from scheduler.daemon import run as run_daemon

    return run_daemon(config, once=args.once, verbosity=args.verbose, log_format=args.log_format)


def feeds(args: argparse.Namespace, config: Config) -> int:
    from feeds.command import feeds as feeds_command

    return feeds_command(args, config)


def alerts(args: argparse.Namespace, config: Config) -> int:
    from alerts.command import main as alerts_main

    return alerts_main(args, config)


def ranking(args: argparse.Namespace, config: Config) -> int:
    from rankings.history import ranking_command

    return ranking_command(config, args.window, args.since, args.chart, sys.stdout)


def serve(args: argparse.Namespace, config: Config) -> int:
    from feeds.command import serve as serve_command
    from web import create_app

    return serve_command(args, config, app=create_app(config))


def stories(args: argparse.Namespace, config: Config) -> int:
    from scheduler.stories import list_stories, show_story

    if args.action == "list":
        return list_stories(
            config,
            sys.stdout,
            sources=args.source,
            rule=args.rule,
            since=args.since,
            limit=args.limit,
            as_json=args.json,
        )
    if args.action == "search":
        return list_stories(
            config,
            sys.stdout,
            sources=args.source,
            rule=None,
            since=None,
            limit=args.limit,
            as_json=args.json,
            text=" ".join(args.text),
        )
    show_story(config, args.url, sys.stdout)  # CommandError (exit 2) for a URL not stored
    return 0


def demo(args: argparse.Namespace, config: Config) -> int:
    from scheduler.demo import run_demo

    return run_demo(verbosity=args.verbose, log_format=args.log_format)
