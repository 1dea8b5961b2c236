"""Alert channels, one module per type, registered by the ``type`` key the configuration
uses (``CHANNELS["slack"]`` is ``SlackChannel``). A type's module is imported when a channel
of that type is built (``channel_class``): a configuration without e-mail does not load
smtplib, one without channels none of them."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING

from alerts.channels.base import CHANNELS, Batch, Channel, ChannelError, Digest, Message, Receipt

if TYPE_CHECKING:
    from core.config import ChannelConfig

__all__ = [
    "CHANNELS",
    "Batch",
    "TYPES",
    "Channel",
    "ChannelError",
    "Digest",
    "Message",
    "Receipt",
    "build_channel",
    "build_channels",
    "channel_class",
]

TYPES = ("webhook", "slack", "email", "file", "apprise")  # alerts/channels/<type>.py


def channel_class(type_name: str) -> type[Channel]:
    """The channel class of a type (one of ``TYPES``, which the configuration was checked
    against), its module imported on first use."""
    if type_name not in CHANNELS and type_name in TYPES:
        import_module(f"{__name__}.{type_name}")
    return CHANNELS[type_name]


def build_channel(config: ChannelConfig) -> Channel:
    """The channel a ``[channels.NAME]`` table describes."""
    return channel_class(config.type).from_config(config)


def build_channels(configs: Mapping[str, ChannelConfig]) -> dict[str, Channel]:
    return {name: build_channel(c) for name, c in configs.items()}
