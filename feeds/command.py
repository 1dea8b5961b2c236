"""The ``defwatch feeds`` and ``defwatch serve`` commands (scheduler/commands/feeds.py and serve.py call these)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import IO, Any
from urllib.parse import urlsplit

from core.config import Config
from core.errors import CommandError


def feeds(args: argparse.Namespace, config: Config, out: IO[str] = sys.stdout) -> int:
    """Rebuild every feed from the store and say what changed."""
    from dataclasses import replace

    from feeds.build import FORMATS, build_all
    from store import Store

    if getattr(args, "format", None):  # index.opml lists the Atom (or RSS) files this time
        config = replace(config, feeds=replace(config.feeds, opml_format=args.format))
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
        f"feeds: {len(report.built)} feeds ({'/'.join(FORMATS)}) and index.opml "
        f"({config.feeds.opml_format.upper()} links) in {report.folder}/: "
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

    base_port = _port(config.feeds.base_url)

    def ready(message: str) -> None:  # listening: the port was free
        print(message, file=out, flush=True)
        if args.port not in (0, base_port):
            logging.getLogger("feeds.serve").warning(
                "serving on port %d, but [feeds] base_url is %s (port %d): index.opml and the "
                "feeds' self links point there; set base_url to the address readers use",
                args.port,
                config.feeds.base_url,
                base_port,
            )

    try:
        return run_server(config, args.host, args.port, ready=ready, app=app)
    except OSError as exc:
        raise CommandError(
            f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)
