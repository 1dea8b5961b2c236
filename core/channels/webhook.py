"""Type ``webhook``: a JSON POST, optionally signed (alerts/channels/webhook.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.channels.base import ChannelOptions
from core.options import REQUIRED, opt


@dataclass(frozen=True, kw_only=True)
class WebhookOptions(ChannelOptions):
    type: ClassVar[str] = "webhook"

    url: str = opt("url", REQUIRED, "where each alert is POSTed", secret=True)
    secret: str | None = opt(
        "str",
        None,
        "signs each delivery (X-Defwatch-Signature, webhook-signature)",
        secret=True,
        shown_default="none",
    )
