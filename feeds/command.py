"""The ``defwatch feeds`` and ``defwatch serve`` commands (scheduler/commands.py calls these)."""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from scheduler.config import Config
from scheduler.errors import CommandError


def feeds(args: argparse.Namespace, config: Config, out: IO[str] = sys.stdout) -> int:
    """Rebuild every feed from the store and say what changed."""
    from feeds.build import FORMATS, build_all
    from store import Store

    store = Store.open(config.store.url, create=False)
    try:
        report = build_all(config, store)
    except OSError as exc:
        raise CommandError(f"feeds: cannot write to {config.feeds.dir}: {exc.strerror or exc}") from None
    finally:
        store.close()
    files = len(report.written) + len(report.unchanged)
    removed = f", {len(report.removed)} removed" if report.removed else ""
    print(
        f"feeds: {len(report.built)} feeds ({'/'.join(FORMATS)}) and index.opml in {report.folder}/: "
        f"{files} files, {len(report.written)} written, {len(report.unchanged)} unchanged{removed} "
        f"({report.seconds:.2f} s)",
        file=out,
    )
    return 0


def serve(args: argparse.Namespace, config: Config, out: IO[str] = sys.stdout, app: Any = None) -> int:
    """Serve the feed folder (and ``app``, the web page, on every other path) until
    SIGTERM or Ctrl-C."""
    from feeds.serve import serve as run_server

    if not 0 <= args.port <= 65535:
        raise CommandError(f"serve: --port {args.port} is not a port number (0-65535)")

    def ready(message: str) -> None:
        print(message, file=out, flush=True)

    try:
        return run_server(config, args.host, args.port, ready=ready, app=app)
    except OSError as exc:
        raise CommandError(
            f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
