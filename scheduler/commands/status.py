"""``defwatch status [--json]``: per source, the last run, its outcome and the next run;
pending and failed alerts (scheduler.status)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from core.config import Config

HELP = "per source: last run, outcome, next run; pending and failed alerts"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace, config: Config) -> int:
    from scheduler.status import collect_status, render_status
    from store import Store

    store = Store.open(config.store.url, create=False)
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
