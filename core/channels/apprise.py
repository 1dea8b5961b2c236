"""Type ``apprise``: Telegram, Teams, Discord, Matrix, ntfy and more through Apprise URLs
(alerts/channels/apprise.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.channels.base import ChannelOptions
from core.options import REQUIRED, opt


@dataclass(frozen=True, kw_only=True)
class AppriseOptions(ChannelOptions):
    type: ClassVar[str] = "apprise"

    urls: tuple[str, ...] = opt("list", REQUIRED, "Apprise URLs, one per target; secrets through `${VAR}`")
