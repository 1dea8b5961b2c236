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


# What URL libraries leave unencoded (requests' requote_uri): a secret URL with a space or
# a "|" in it reaches an error message as "%20" / "%7C" with the rest unchanged.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def secret_forms(value: str) -> set[str]:
    """The forms a secret takes in messages: as is, percent-encoded the ways URL libraries
    encode it, and base64 (standard and URL-safe, with and without padding)."""
    from base64 import b64encode, urlsafe_b64encode
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8")
    forms = {
        value,
        quote(value, safe=""),
        quote(value, safe="/"),
        quote(value, safe=_URL_SAFE),
        quote_plus(value),
        b64encode(raw).decode("ascii"),
        urlsafe_b64encode(raw).decode("ascii"),
    }
    forms |= {f.rstrip("=") for f in forms if f.endswith("=")}
    forms |= _base64_inside(raw)
    return {f for f in forms if f}


def _base64_inside(raw: bytes) -> set[str]:
    """What every base64 text that holds ``raw`` somewhere inside a longer value has in
    common (an ``Authorization: Basic`` header of ``user:secret``, a URL carrying the secret,
    encoded whole): base64 writes 3 bytes as 4 characters, so for each of the 3 places the
    secret can start within a group, the characters made of the secret's bytes alone."""
    from base64 import b64encode, urlsafe_b64encode

    cores = set()
    for shift in range(3):
        usable = (len(raw) - (3 - shift) % 3) // 3 * 3  # whole groups after the shared one
        if usable < 6:  # too short a core would mask unrelated text
            continue
        start = (3 - shift) % 3
        chunk = raw[start : start + usable]
        cores |= {b64encode(chunk).decode("ascii"), urlsafe_b64encode(chunk).decode("ascii")}
    return cores


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line from now on, in every form it takes (short values
    would mask too much)."""
    if value and len(value) >= 6:
        _SECRETS.update(secret_forms(value))


def mask(text: str) -> str:
    """``text`` with every registered secret, in any of its forms, replaced by ``***``."""
    for secret in sorted(_SECRETS, key=len, reverse=True):  # a longer form first
        if secret in text:
            text = text.replace(secret, "***")
    return text


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = mask(record.getMessage())
            record.args = None
        return True


# Scrapy's own lines about one failed request (retries given up, robots.txt unreachable,
# a download error): the run's summary line says the same once, so they are debug lines,
# shown from -v on.
_REQUEST_NOISE = ("scrapy.downloadermiddlewares.", "scrapy.core.downloader", "scrapy.core.scraper")


class _DemoteRequestNoise(logging.Filter):
    def __init__(self, show: bool) -> None:
        super().__init__()
        self.show = show

    def filter(self, record: logging.LogRecord) -> bool:
        noise = record.levelno < logging.CRITICAL and record.name.startswith(_REQUEST_NOISE)
        if noise and (
            record.name != "scrapy.core.scraper" or str(record.msg).startswith("Error downloading")
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.show
        return True


# Fields a JSON line carries when the event has them (``extra=`` of the logging call; a
# spider's lines get source and run id from the spider).
FIELDS = ("source", "run_id", "outcome", "counts", "reason", "delivery_id", "channel")


def event_fields(record: logging.LogRecord) -> dict[str, object]:
    doc: dict[str, object] = {}
    spider = getattr(record, "spider", None)
    if spider is not None:
        doc["source"] = getattr(spider, "name", None)
        if getattr(spider, "run_id", None) is not None:
            doc["run_id"] = spider.run_id
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            doc[name] = mask(value) if isinstance(value, str) else value
    return doc


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info:
            doc["error"] = mask(self.formatException(record.exc_info).splitlines()[-1])
        return json.dumps(doc, ensure_ascii=False, default=str)


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
    handler.addFilter(_DemoteRequestNoise(show=verbosity >= 1))
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
