"""Type ``slack``: a Slack incoming webhook (alerts/channels/slack.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.channels.base import ChannelOptions
from core.options import REQUIRED, opt


@dataclass(frozen=True, kw_only=True)
class SlackOptions(ChannelOptions):
    type: ClassVar[str] = "slack"

    # Slack allows about one message per second per webhook.
    min_interval: float = opt("duration", 1.0, "least time between two messages to one receiver")
    url: str = opt("url", REQUIRED, "the incoming webhook's URL", secret=True)
