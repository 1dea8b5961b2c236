"""Filled SQLite stores kept between benchmark runs, in ~/.cache/defwatch-bench/ (or
$XDG_CACHE_HOME/defwatch-bench/), as bench/peers.py keeps urlwatch's virtualenv.

A store is kept under a key of what made it: the schema (its migration heads), the copy
index's fingerprint, the text of the functions and files that fill it, and a generator
number the script raises by hand when the same code should make another store. A script
copies the kept store into its own temporary folder (the benchmark writes to it) and says
so in its table; a store of an earlier key is deleted when a new one is kept. Not a
benchmark: run_all leaves out files starting with an underscore.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "defwatch-bench"


def key(*parts: str, functions: Iterable[Any] = (), files: Iterable[str] = ()) -> str:
    """A key of ``parts``, the schema's heads, the copy index fingerprint, the source of
    ``functions`` and the bytes of ``files`` (paths from the repository's root)."""
    from store.copies import fingerprint
    from store.versions import head_revisions

    digest = hashlib.sha256()
    for part in (*parts, ",".join(sorted(head_revisions())), fingerprint()):
        digest.update(part.encode() + b"\0")
    for function in functions:
        digest.update(inspect.getsource(function).encode() + b"\0")
    for name in files:
        digest.update((ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def checkpoint(db: Path) -> None:
    """Move the WAL of a closed store into its database file and empty it."""
    conn = sqlite3.connect(db)
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    finally:
        conn.close()
    if busy:
        raise SystemExit(f"bench: the WAL of {db} could not be checkpointed (another process has it open)")
    Path(f"{db}.migrate-lock").unlink(missing_ok=True)  # Store.open's, around the migrations


def provide(name: str, store_key: str, db: Path, make: Callable[[Path], None], cache: bool = True) -> str:
    """Put the store ``name`` at ``db``: a copy of the kept one, else made by ``make(path)``
    (which fills a new store at path and closes it) and kept. Says which, for the table."""
    kept = CACHE / f"{name}-{store_key}.db"
    if not cache:
        make(db)
        checkpoint(db)
        return "filled afresh (--no-cache)"
    if kept.exists():
        shutil.copyfile(kept, db)
        return f"copied from {kept}"
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{name}-*.db"):  # an earlier key's store
        old.unlink()
    filling = kept.with_name(f"{kept.name}.{os.getpid()}.filling")
    try:
        make(filling)
        checkpoint(filling)
        os.replace(filling, kept)
    finally:
        for leftover in CACHE.glob(f"{filling.name}*"):
            leftover.unlink()
    shutil.copyfile(kept, db)
    return f"filled and kept as {kept}"
