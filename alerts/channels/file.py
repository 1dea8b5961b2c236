"""``type = "file"``: each delivery as one JSON line appended to a file (the offline demo
reads alerts this way; also handy for piping into other tools)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.channels.base import Batch, Channel, Digest, Message, Receipt
from core.channels import FileOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig


class FileChannel(Channel, type="file"):
    # Lines appended with one write and one fsync: a flush to disk per line was most of the
    # time 30,000 alerts took (docs/performance.md). A process killed after the write and
    # before the dispatcher records them sent writes them again (same ids) when restarted.
    batch = 200

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

    def _append(self, documents: Iterable[dict[str, Any]]) -> Receipt:
        data = "".join(
            json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n" for document in documents
        ).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Whole lines in append mode, flushed to disk before we call them sent.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return Receipt(True, f"appended {len(data)} bytes to {self.path}")

    def send(self, message: Message) -> Receipt:
        return self._append([message.body()])

    def send_digest(self, digest: Digest) -> Receipt:
        return self._append([digest.body()])

    def send_batch(self, batch: Batch) -> Receipt:
        return self._append(m.body() for m in batch.messages)
