"""The options every command takes, before or after its name."""

from __future__ import annotations

import argparse


def common_options(top: bool) -> argparse.ArgumentParser:
    """A parent parser with ``--config``, ``-v`` and ``--log-format``. Under a command the
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
        "-v",
        "--verbose",
        action="count",
        default=d(0),
        help="more log output: -v each step and failed request, -vv debug (default: warnings only)",
    )
    common.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=d("text"),
        help="log lines as text, or one JSON document each (default: text)",
    )
    return common
