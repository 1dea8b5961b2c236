"""Pages a reader could not read whole, kept so a user can look at them (``defwatch inspect
--file``) and send them in: a few per source and reason, under the data folder.

The data folder is the one holding the SQLite store (``[store] url``), else ``./data``.
Each reason keeps its newest ``KEEP`` pages: ``<data>/pages/<source>/<reason>/<n>.html``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

__all__ = ["KEEP", "data_folder", "save_page"]

KEEP = 3
log = logging.getLogger(__name__)
_SLUG = re.compile(r"[^a-z0-9]+")


def data_folder(store_url: str) -> Path:
    """The folder beside the SQLite file of ``store_url`` (``./data`` for other stores)."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if store_url.startswith(prefix):
            path = store_url[len(prefix) :].split("?", 1)[0]
            if path and path != ":memory:":
                return Path(path).parent
    return Path("data")


def save_page(folder: Path, source: str, reason: str, url: str, body: bytes | str) -> Path | None:
    """Keep ``body`` (the page at ``url``) as one of the newest ``KEEP`` pages for ``reason``;
    the path written, or None when the folder cannot be written (logged, never raised)."""
    slug = _SLUG.sub("-", reason.lower()).strip("-")[:60] or "unknown"
    where = folder / "pages" / _SLUG.sub("-", source.lower()) / slug
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        where.mkdir(parents=True, exist_ok=True)
        kept = sorted(where.glob("*.html"), key=lambda p: p.stat().st_mtime)
        if any(p.read_bytes()[: len(data) + 200].endswith(data) for p in kept):
            return None  # this very page is kept already
        for old in kept[: max(0, len(kept) - KEEP + 1)]:
            old.unlink()
        numbers = [int(p.stem) for p in where.glob("*.html") if p.stem.isdigit()]
        path = where / f"{max(numbers, default=0) + 1}.html"
        path.write_bytes(f"<!-- defwatch: {url} -->\n".encode() + data)
        return path
    except OSError as exc:
        log.warning("could not keep the page %s under %s: %s", url, where, exc)
        return None
