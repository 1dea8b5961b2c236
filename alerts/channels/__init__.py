"""Alert channels, one module per type, registered by the ``type`` key the configuration
uses (``CHANNELS["slack"]`` is ``SlackChannel``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from alerts.channels import apprise, email, file, slack, webhook
from alerts.channels.base import CHANNELS, Channel, ChannelError, Digest, Message, Receipt

if TYPE_CHECKING:
    from core.config import ChannelConfig

__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelError",
    "Digest",
    "Message",
    "Receipt",
    "apprise",
    "build_channel",
    "build_channels",
    "email",
    "file",
    "slack",
    "webhook",
]


def build_channel(config: ChannelConfig) -> Channel:
    """The channel a ``[channels.NAME]`` table describes."""
    return CHANNELS[config.type].from_config(config)


def build_channels(configs: Mapping[str, ChannelConfig]) -> dict[str, Channel]:
    return {name: build_channel(c) for name, c in configs.items()}
