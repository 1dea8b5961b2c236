"""Logging set-up: one line per event, human-readable by default, JSON for log shippers.

Secrets never reach a log line: values interpolated from the environment are registered
here and masked in every record.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line from now on (short values would mask too much)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def mask(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = mask(record.getMessage())
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["error"] = mask(self.formatException(record.exc_info).splitlines()[-1])
        return json.dumps(doc, ensure_ascii=False)


class OneLineFormatter(logging.Formatter):
    """Human-readable, one line per event: a traceback is reduced to its last line (the
    exception itself); -vv (debug) keeps the whole traceback for developers."""

    def __init__(self, keep_tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.keep_tracebacks = keep_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.keep_tracebacks:
            return super().format(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_text, record.stack_info = None, None
        record.exc_info = None
        try:
            line = super().format(record).replace("\n", " | ")
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail = " ".join(str(exc).split())
            line += f" | {type(exc).__name__}{': ' + detail if detail else ''}"
        return mask(line)


def setup(verbosity: int = 0, fmt: str = "text") -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(OneLineFormatter(keep_tracebacks=verbosity >= 2))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("scrapy", "twisted", "filelock", "urllib3", "alembic", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
