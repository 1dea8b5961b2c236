"""One ``defwatch run`` per store: a file lock next to the SQLite file (or, for a server
database, in the working directory), held for as long as the daemon or a one-shot cycle runs.

The lock is an OS-level ``flock``: it goes away with the process that holds it, so a crashed
daemon never leaves a stale lock behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from scheduler.errors import EXIT_USAGE, CommandError


def lock_path(store_url: str) -> Path:
    """``data/defwatch.db.lock`` for ``sqlite:///data/defwatch.db``; for any other URL
    ``.defwatch-<hash of the URL>.lock`` in the working directory."""
    try:
        url = make_url(store_url)
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(db.name + ".lock")
    digest = hashlib.sha256(store_url.encode("utf-8")).hexdigest()[:16]
    return Path(f".defwatch-{digest}.lock")


@contextmanager
def instance_lock(store_url: str) -> Iterator[Path]:
    """Hold the store's lock for the duration; refuse at once (CommandError, exit 2) when
    another process holds it."""
    from filelock import FileLock, Timeout

    path = lock_path(store_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"lock: cannot create folder {path.parent}: {exc.strerror or exc}") from None
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise CommandError(
            f"another defwatch run is already using this store (lock {path} is held)", code=EXIT_USAGE
        ) from None
    except OSError as exc:
        raise CommandError(f"lock: cannot open {path}: {exc.strerror or exc}") from None
    try:
        yield path
    finally:
        lock.release()


def is_held(store_url: str) -> bool | None:
    """Whether a daemon (or a one-shot cycle) holds the store's lock right now; None when
    that cannot be told (no lock file yet counts as not held)."""
    from filelock import FileLock, Timeout

    path = lock_path(store_url)
    if not path.exists():
        return False
    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:
        return None
    probe.release()
    return False
