"""``defwatch serve``: the feed folder over HTTP, and the web page (feeds.command, web)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "serve the feed folder over HTTP (ETag, Last-Modified, 304)"
EXAMPLES = """\
  defwatch serve                      # http://127.0.0.1:8080/ (feeds, web page, /healthz)
  defwatch serve --host 0.0.0.0 --port 8081   # set [feeds] base_url to match
see docs/feeds.md"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8080, help="TCP port to listen on (0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")


def run(args: argparse.Namespace, config: Config) -> int:
    from feeds.command import serve as serve_command
    from web import create_app

    return serve_command(args, config, app=create_app(config))
