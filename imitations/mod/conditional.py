"""Validators and conditional requests: ETag, Last-Modified, and when to answer 304."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any


def etag_for(body: bytes) -> str:
    """A strong ETag that changes whenever the body does."""
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(environ: dict[str, Any], etag: str | None, last_modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match decides when present; else a not-older If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not if_modified_since or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= last_modified.replace(microsecond=0)
