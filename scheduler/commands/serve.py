"""``defwatch serve``: the feed folder over HTTP, and the web page (feeds.command, web)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "serve the feed folder over HTTP (ETag, Last-Modified, 304)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")


def run(args: argparse.Namespace, config: Config) -> int:
    from feeds.command import serve as serve_command
    from web import create_app

    return serve_command(args, config, app=create_app(config))
