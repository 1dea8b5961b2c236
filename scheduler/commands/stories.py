"""``defwatch stories show URL | list | search TEXT``: stories in the store (scheduler.stories)."""

from __future__ import annotations

import argparse
import sys

from core.config import Config
from scheduler.commands.options import common_options

HELP = "'stories show URL', 'stories list', 'stories search TEXT': stories in the store"
EXAMPLES = """\
  defwatch stories list --since 7d --source mod
  defwatch stories search ASEAN 防衛
  defwatch stories show https://www.mod.go.jp/j/press/news/2025/10/01a.html"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    common = common_options(top=False)
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


def run(args: argparse.Namespace, config: Config) -> int:
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
