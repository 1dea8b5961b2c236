"""The ``defwatch`` command: parses arguments, loads configuration, dispatches to the
command's module (scheduler/commands/).

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
from scheduler.commands import COMMANDS
from scheduler.commands.options import common_options

Handler = Callable[[argparse.Namespace, Config], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="defwatch",
        description="Watch Japanese and Asian defence news: crawl, deduplicate, rank, publish feeds and alert.",
        parents=[common_options(top=True)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, parents=[common_options(top=False)], help=command.HELP)
        command.add_arguments(p)
        p.set_defaults(handler=command.run)
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
        from sqlalchemy.exc import DatabaseError

        from store import StoreError

        if isinstance(exc, StoreError):
            return _fail(str(exc), EXIT_USAGE)
        if isinstance(exc, DatabaseError):  # e.g. a store damaged while in use
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            return _fail(f"store: {detail} ({config_store(args)})", EXIT_USAGE)
        raise


def config_store(args: argparse.Namespace) -> str:
    """The store URL, for an error message (its password hidden)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(load(args.config).store.url).render_as_string(hide_password=True)
    except Exception:
        return "the configured store"


def _fail(message: str, code: int) -> int:
    print(f"defwatch: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
