"""``type = "file"``: each delivery as one JSON line appended to a file (the offline demo
reads alerts this way; also handy for piping into other tools)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.channels.base import Channel, Digest, Message, Receipt
from core.channels import FileOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig


class FileChannel(Channel, type="file"):
    def __init__(self, name: str, path: str | os.PathLike[str], **common: Any) -> None:
        super().__init__(name, **common)
        self.path = Path(path)

    @classmethod
    def from_config(cls, config: ChannelConfig) -> FileChannel:
        o = config.options
        assert isinstance(o, FileOptions)
        return cls(config.name, o.path, **cls.shared(o))

    def rate_key(self) -> str | None:
        return f"file:{self.path.resolve()}"

    def _append(self, document: dict[str, Any]) -> Receipt:
        line = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of a whole line in append mode, flushed to disk before we call it sent.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return Receipt(True, f"appended {len(line.encode('utf-8'))} bytes to {self.path}")

    def send(self, message: Message) -> Receipt:
        return self._append(message.body())

    def send_digest(self, digest: Digest) -> Receipt:
        return self._append(digest.body())
