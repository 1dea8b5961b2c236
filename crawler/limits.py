"""What a story may hold when it is stored: bounded titles and summaries, no control
characters, and only http(s) links. A source is not trusted to keep to any of it.

A hostile or broken feed can hand over a title of a million characters (which became a
3 MB webhook body and a 13 MB email), a NUL or an ANSI escape in a title (which cut it, or
reached the terminal in ``defwatch stories show``), or a ``javascript:`` link (which went on
to every feed and alert). The pipeline (crawler.pipelines) applies these limits to every
story and ranking entry before it is stored, so every output built from the store holds to
them too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_TITLE = 1000  # characters; a real headline is under 200
MAX_SUMMARY = 2000  # characters; defwatch's own summaries are about 200
ELLIPSIS = "…"

# C0 and C1 control characters and DEL. Titles and summaries are one line: every control
# character goes. In bodies, line breaks and tabs stay.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_BODY_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """``text`` with every control character replaced by a space (NUL included)."""
    return _CONTROLS.sub(" ", text)


def clean_line(text: str, limit: int) -> str:
    """One line of text (a title, a summary): control characters (line breaks too) as
    spaces, at most ``limit`` characters (the last one an ellipsis when cut). Other spacing,
    such as U+3000 in Japanese titles, is kept as the source wrote it."""
    text = without_controls(text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + ELLIPSIS
    return text


def clean_title(text: str) -> str:
    return clean_line(text, MAX_TITLE)


def clean_summary(text: str) -> str:
    return clean_line(text, MAX_SUMMARY)


def clean_body(text: str) -> str:
    """A body keeps its lines; other control characters become spaces."""
    return _BODY_CONTROLS.sub(" ", text)


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host: the only links defwatch stores
    and publishes (not ``javascript:``, ``data:``, ``file:`` or ``mailto:``)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
