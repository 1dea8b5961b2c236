"""Type ``file``: each alert one line of JSON appended to a file (alerts/channels/file.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.channels.base import ChannelOptions
from core.options import REQUIRED, opt


@dataclass(frozen=True, kw_only=True)
class FileOptions(ChannelOptions):
    type: ClassVar[str] = "file"

    path: str = opt("path", REQUIRED, "the file, relative to the working directory")
