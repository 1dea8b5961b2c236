"""One ``defwatch run`` (or ``crawl``) per store: a file lock next to the SQLite file (or,
for a server database, in the working directory), held for as long as the daemon, a one-shot
cycle or a crawl runs. A PostgreSQL store is locked in the database too (a session-level
advisory lock, :mod:`store.lock`), so that daemons on two hosts sharing it exclude each other;
it goes away with the connection that holds it.

The lock is an OS-level ``flock`` on an open file: it goes away with the last process that
holds that open file, so a crashed daemon never leaves a stale lock behind. The crawl
children of ``run`` inherit it (:func:`child_lock_env`): a child that outlives its daemon
(killed with SIGKILL) keeps the store locked until it has stopped too, so a new run never
crawls beside it. Children also ask the kernel to kill them when their parent dies
(:func:`die_with_parent`); their page worker follows within half a second (crawler.worker),
and the runs they leave ``running`` are closed as ``interrupted`` by the next run or crawl.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from store.lock import AdvisoryLock

log = logging.getLogger(__name__)

LOCK_FD_ENV = "DEFWATCH_LOCK_FD"  # set for a crawl child: the lock's descriptor it inherited
PARENT_ENV = "DEFWATCH_PARENT_PID"  # set for a crawl child: the daemon it must not outlive


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


class HeldLock:
    """The store's lock, held through the open descriptor ``fd``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def instance_lock(store_url: str) -> Iterator[HeldLock]:
    """Hold the store's lock for the duration; refuse at once (CommandError, exit 2) when
    another process holds it. In a crawl child of ``run`` (the lock inherited), nothing to take."""
    inherited = inherited_lock()
    if inherited is not None:
        yield HeldLock(lock_path(store_url), inherited)
        return
    with _database_lock(store_url):
        yield from _file_lock(store_url)


@contextmanager
def _database_lock(store_url: str) -> Iterator[None]:
    """The advisory lock of a PostgreSQL store (nothing for other stores)."""
    from store.lock import AdvisoryLock, uses_advisory_lock

    if not uses_advisory_lock(store_url):
        yield
        return
    from sqlalchemy.exc import SQLAlchemyError

    lock = AdvisoryLock(store_url)
    try:
        held = lock.acquire()
    except SQLAlchemyError as exc:
        raise CommandError(f"lock: cannot reach the store: {str(exc).splitlines()[0]}") from None
    if not held:
        raise CommandError(
            "another defwatch run is already using this store (its PostgreSQL advisory lock is held)",
            code=EXIT_USAGE,
        )
    stop = threading.Event()
    keeper = threading.Thread(target=_keep, args=(lock, stop), name="defwatch-lock-keeper", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()
        lock.release()


KEEP_EVERY = 5.0  # seconds between looks at the advisory lock's session


def _keep(lock: AdvisoryLock, stop: threading.Event) -> None:
    """The advisory lock lives as long as its session: a server restart, a failover or an
    administrator ends it, and another host's daemon could then take the store. Every
    KEEP_EVERY seconds the session is checked and, when gone, the lock taken again; if
    another run has taken it meanwhile, this process stops (SIGTERM to itself: the daemon's
    own orderly stop) rather than run beside it."""
    said = False
    while not stop.wait(KEEP_EVERY):
        try:
            state = lock.keep()
        except Exception as exc:  # never let the keeper die silently
            log.warning("could not check the store's advisory lock: %s", exc)
            continue
        if state == "unreachable" and not said:
            log.warning(
                "the store's PostgreSQL server does not answer: its advisory lock may be lost; "
                "taking it again when the server answers"
            )
            said = True
        elif state == "retaken":
            log.warning(
                "the store's advisory lock had been lost with its connection (the server restarted or "
                "ended the session); taken again"
            )
            said = False
        elif state == "taken":
            log.error(
                "the store's advisory lock had been lost with its connection and another defwatch run "
                "has taken it meanwhile: stopping"
            )
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _file_lock(store_url: str) -> Iterator[HeldLock]:
    path = lock_path(store_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"lock: cannot create folder {path.parent}: {exc.strerror or exc}") from None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CommandError(f"lock: cannot open {path}: {exc.strerror or exc}") from None
    try:
        if not _try_lock(fd):
            raise CommandError(
                f"another defwatch run is already using this store (lock {path} is held)", code=EXIT_USAGE
            )
        yield HeldLock(path, fd)
    finally:
        os.close(fd)  # releases the flock unless a child still holds the same open file


def inherited_lock() -> int | None:
    """The lock descriptor a crawl child was given by its ``run`` (None elsewhere)."""
    value = os.environ.get(LOCK_FD_ENV)
    if not value or not value.isdigit():
        return None
    fd = int(value)
    try:
        os.fstat(fd)
    except OSError:
        return None
    return fd


def child_lock_env(lock: HeldLock | None) -> dict[str, str]:
    """What a crawl child's environment carries: the lock it shares, the parent it follows."""
    env = {PARENT_ENV: str(os.getpid())}
    if lock is not None:
        env[LOCK_FD_ENV] = str(lock.fd)
    return env


def die_with_parent() -> None:
    """In a crawl child of ``run``: be killed when the daemon dies, however it dies (a
    graceful close could wait on a request in flight for its whole timeout, holding the lock);
    exit at once if it is already gone. Linux only (``PR_SET_PDEATHSIG``); elsewhere the
    inherited lock still keeps a new run out while the child lives."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # it died before the request above took effect
        os._exit(1)


def is_held(store_url: str) -> bool | None:
    """Whether a daemon, a one-shot cycle or a crawl holds the store's lock right now; None
    when that cannot be told (no lock file yet counts as not held)."""
    import fcntl

    from store.lock import advisory_lock_held, uses_advisory_lock

    if uses_advisory_lock(store_url):
        try:
            return advisory_lock_held(store_url)
        except Exception:  # an unreachable server: cannot tell
            return None
    path = lock_path(store_url)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if not _try_lock(fd):
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
