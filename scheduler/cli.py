"""The ``defwatch`` command: parses arguments, loads configuration, dispatches.

Every failure the user can cause (configuration, store, arguments) ends as one line on
stderr and exit status 2; a run that worked but found a source failing exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from core import logs
from core.config import Config, ConfigError, load
from core.errors import EXIT_USAGE, CommandError
from core.model import WINDOWS

Handler = Callable[[argparse.Namespace, Config], int]


def _common(top: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name. Under a command the
    defaults are suppressed so they do not overwrite what was given before the name."""
    common = argparse.ArgumentParser(add_help=False)
    d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=d(None),
        help="configuration file (default: $DEFWATCH_CONFIG, ./defwatch.toml, built-in defaults)",
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=d(0), help="more log output (-vv for debug)"
    )
    common.add_argument("--log-format", choices=("text", "json"), default=d("text"), help="log line format")
    return common


def build_parser() -> argparse.ArgumentParser:
    from scheduler import commands

    common = _common(top=False)
    parser = argparse.ArgumentParser(
        prog="defwatch",
        description="Watch Japanese and Asian defence news: crawl, deduplicate, rank, publish feeds and alert.",
        parents=[_common(top=True)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "crawl", parents=[common], help="crawl now (all sources, or those named) and print a summary"
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    p.set_defaults(handler=commands.crawl)

    p = sub.add_parser(
        "run", parents=[common], help="the daemon: every source on its schedule, then ranking, alerts, feeds"
    )
    p.add_argument(
        "--once", action="store_true", help="one full cycle for every source, then exit (for system cron)"
    )
    p.set_defaults(handler=commands.run)

    p = sub.add_parser("feeds", parents=[common], help="rebuild every feed from the store")
    p.add_argument(
        "--format",
        choices=("rss", "atom"),
        help="which file of each feed index.opml lists (default: [feeds] opml_format, rss)",
    )
    p.set_defaults(handler=commands.feeds)

    p = sub.add_parser(
        "alerts", parents=[common], help="deliver what is pending in the outbox now; 'alerts test CHANNEL'"
    )
    p.add_argument(
        "action", nargs="?", choices=("test",), help="'test' sends one test message through CHANNEL"
    )
    p.add_argument("channel", nargs="?", metavar="CHANNEL")
    p.add_argument(
        "--retry-failed", action="store_true", help="put failed deliveries back in the queue first"
    )
    p.set_defaults(handler=commands.alerts)

    p = sub.add_parser("ranking", parents=[common], help="the current reading ranking and its movements")
    p.add_argument("--window", choices=WINDOWS, default="24h")
    p.add_argument("--since", metavar="DURATION", help="movements since this long ago (e.g. 24h, 7d)")
    p.add_argument("--chart", metavar="FILE.png", help="draw rank over time to a PNG file")
    p.set_defaults(handler=commands.ranking)

    p = sub.add_parser(
        "status", parents=[common], help="per source: last run, outcome, next run; pending and failed alerts"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=commands.status)

    p = sub.add_parser(
        "serve", parents=[common], help="serve the feed folder over HTTP (ETag, Last-Modified, 304)"
    )
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(handler=commands.serve)

    p = sub.add_parser(
        "stories",
        parents=[common],
        help="'stories show URL', 'stories list', 'stories search TEXT': stories in the store",
    )
    acts = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = acts.add_parser("show", parents=[common], help="a story with its copies and revisions")
    a.add_argument("url", metavar="URL", help="the story's URL (any of its variants)")
    a = acts.add_parser("list", parents=[common], help="stories newest first (JST), by source, rule and age")
    a.add_argument("--source", action="append", default=[], metavar="S", help="only this source (repeatable)")
    a.add_argument("--rule", metavar="R", help="only what this rule matches")
    a.add_argument("--since", metavar="DURATION", help="published (else stored) this long ago, e.g. 24h, 7d")
    a.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    a.add_argument("--json", action="store_true", help="print one JSON document")
    a = acts.add_parser(
        "search", parents=[common], help="full-text search, as the web page's (ＡＳＥＡＮ finds ASEAN)"
    )
    a.add_argument("text", metavar="TEXT", nargs="+", help="words that must all occur")
    a.add_argument("--source", action="append", default=[], metavar="S", help="only this source (repeatable)")
    a.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    a.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=commands.stories)

    from scheduler import inspect_command

    p = sub.add_parser(
        "inspect",
        parents=[common],
        help="what the readers extract from one page, by which route, and their checks",
    )
    inspect_command.add_arguments(p)
    p.set_defaults(handler=inspect_command.run)

    p = sub.add_parser(
        "demo", parents=[common], help="the offline demo: imitation sites on 127.0.0.1, two cycles, a summary"
    )
    p.set_defaults(handler=commands.demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(verbosity=args.verbose, fmt=args.log_format)
    try:
        config = load(args.config)
        handler: Handler = args.handler
        return handler(args, config)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except CommandError as exc:
        return _fail(str(exc), exc.code)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from store import StoreError

        if isinstance(exc, StoreError):
            return _fail(str(exc), EXIT_USAGE)
        raise


def _fail(message: str, code: int) -> int:
    print(f"defwatch: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
