"""The channel types and the keys each takes. Adding a type: a module here declaring its
options class (the loader and the docs read it), and its line in TYPES."""

from __future__ import annotations

from core.channels.apprise import AppriseOptions
from core.channels.base import ChannelOptions
from core.channels.email import EmailOptions
from core.channels.file import FileOptions
from core.channels.slack import SlackOptions
from core.channels.webhook import WebhookOptions

# The registration, in the order error messages and the docs list the types.
TYPES: tuple[type[ChannelOptions], ...] = (
    WebhookOptions,
    SlackOptions,
    EmailOptions,
    FileOptions,
    AppriseOptions,
)


def channel_types() -> dict[str, type[ChannelOptions]]:
    """Each type's options class by the name ``type =`` gives it."""
    return {t.type: t for t in TYPES}


__all__ = [
    "TYPES",
    "AppriseOptions",
    "ChannelOptions",
    "EmailOptions",
    "FileOptions",
    "SlackOptions",
    "WebhookOptions",
    "channel_types",
]
