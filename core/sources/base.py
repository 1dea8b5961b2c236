"""What every source takes: the keys that say which source it is and when it runs, and
the options class every kind's own extends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import REQUIRED, Option, Options, opt

DEFAULT_TIMEZONE = "Asia/Tokyo"

# The keys every source takes that say which source it is and when it runs: the fields of
# core.settings.SourceConfig.
SOURCE_KEYS: tuple[Option, ...] = (
    Option("name", "name", REQUIRED, "the source's name, unique; stories and feeds carry it"),
    Option("kind", "str", REQUIRED, "which kind of source (the sections below)"),
    Option("url", "url", REQUIRED, "where the source is read"),
    Option("schedule", "cron", "*/15 * * * *", "when it is crawled, a cron expression"),
    Option("timezone", "timezone", DEFAULT_TIMEZONE, "the time zone of dates published without one"),
    Option("enabled", "bool", True, "`false`: configured but never crawled"),
    Option("keep_params", "list", (), "query parameters that tell stories apart, kept in story URLs"),
)


@dataclass(frozen=True, kw_only=True)
class SourceOptions(Options):
    """The options of one source, as its kind declares them (the spiders read these)."""

    kind: ClassVar[str] = ""  # as written in defwatch.toml: kind = "feed"
    summary: ClassVar[str] = ""  # one line on what the kind reads

    max_response_size: int | None = opt(
        "size",
        None,
        "a response larger than this is cut there and counted `too_large`",
        shown_default="`[crawl] max_response_size`",
    )
