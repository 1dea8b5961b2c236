"""What every channel takes: the options class every channel type's own extends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.options import Options, opt


@dataclass(frozen=True, kw_only=True)
class ChannelOptions(Options):
    """The options of one channel, as its type declares them (the channels read these).
    A secret's value is left out of the repr."""

    type: ClassVar[str] = ""  # as written in defwatch.toml: type = "slack"

    timeout: float = opt("duration", 10.0, "the whole of one attempt: connect, send and read the answer")
    min_interval: float = opt("duration", 0.0, "least time between two messages to one receiver")
    digest: float | None = opt(
        "duration",
        None,
        'e.g. `"15m"`: the alerts of that window go out as one message',
        shown_default="none",
    )
    language: str = opt("choice:en,ja", "en", 'the default templates: `"en"` (the wording below) or `"ja"`')
    title_template: str | None = opt(
        "str",
        None,
        "a Jinja2 template for the title (mail subject, Slack and Apprise title)",
        shown_default="none",
    )
    body_template: str | None = opt("str", None, "a Jinja2 template for the body", shown_default="none")
