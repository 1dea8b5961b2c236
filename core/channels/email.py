"""Type ``email``: one mail per alert over SMTP (alerts/channels/email.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.channels.base import ChannelOptions
from core.options import REQUIRED, opt


@dataclass(frozen=True, kw_only=True)
class EmailOptions(ChannelOptions):
    type: ClassVar[str] = "email"

    smtp_url: str = opt(
        "smtp-url",
        REQUIRED,
        "`smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465`",
        secret=True,
    )
    sender: str = opt("str", REQUIRED, "the From address", key="from")
    to: tuple[str, ...] = opt("list", REQUIRED, "the addresses each alert goes to", at_least_one="address")
    require_tls: bool = opt("bool", False, "refuse a server that offers no STARTTLS")
    list_unsubscribe: str | None = opt(
        "str", None, "a `List-Unsubscribe` header (a `mailto:` or `https:` URL)", shown_default="none"
    )
