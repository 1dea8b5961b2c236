"""``defwatch status [--json]``: per source, the last run, its outcome and the next run;
pending and failed alerts (scheduler.status)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import datetime
from typing import Any

from core.config import Config
from core.logs import mask

HELP = "per source: last run, outcome, next run; pending and failed alerts"
EXAMPLES = """\
  defwatch status
  defwatch status --json | jq '.sources[] | {name, outcome: .last_run.outcome}'
see docs/operations.md"""


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
    # A delivery's last error or a run's reason may quote a secret (a webhook URL with its
    # token): masked here in every form, whatever stored it (core.logs).
    if args.json:
        print(json.dumps(_masked(report), ensure_ascii=False, indent=2, default=_json_default))
    else:
        text = io.StringIO()
        render_status(report, text)
        sys.stdout.write(mask(text.getvalue()))
    return 0


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
