"""``defwatch demo``: the offline demo (scheduler.demo)."""

from __future__ import annotations

import argparse

from core.config import Config

HELP = "the offline demo: imitation sites on 127.0.0.1, two cycles, a summary"
EXAMPLES = """\
  make demo                           # installs the package, then runs this
  .venv/bin/defwatch demo"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, config: Config) -> int:
    from scheduler.demo import run_demo

    return run_demo(verbosity=args.verbose, log_format=args.log_format)
