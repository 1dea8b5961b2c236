"""The single-instance lock of a PostgreSQL store: a session-level advisory lock, so that two
``defwatch run`` on two hosts sharing one database never run at once. It goes away with the
connection that holds it (a crashed or killed daemon leaves no stale lock)."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def uses_advisory_lock(store_url: str) -> bool:
    try:
        return make_url(store_url).get_backend_name() == "postgresql"
    except Exception:  # not a URL at all: the caller's file lock reports it
        return False


def lock_key(store_url: str) -> int:
    """A stable signed 64-bit key for the store's database (host, port and name, not the
    credentials), so every host computes the same one."""
    url = make_url(store_url)
    ident = f"defwatch:{url.host or ''}:{url.port or ''}:{url.database or ''}"
    return int.from_bytes(hashlib.sha256(ident.encode("utf-8")).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """``acquire()`` takes the lock on a connection of its own (False when another session
    holds it); ``release()`` gives it back and closes that connection."""

    def __init__(self, store_url: str) -> None:
        self.key = lock_key(store_url)
        self._engine = create_engine(store_url, poolclass=NullPool, connect_args={"connect_timeout": 10})
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        conn = self._engine.connect()
        try:
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            conn.commit()
        except BaseException:
            conn.close()
            self._engine.dispose()
            raise
        if held:
            self._conn = conn
        else:
            conn.close()
            self._engine.dispose()
        return held

    def keep(self) -> str:
        """Check that the lock's session is alive; when the server ended it (a restart, an
        administrator), take the lock again on a new one. ``held``: still held;
        ``retaken``: held again; ``taken``: another session took it meanwhile;
        ``unreachable``: the server cannot be reached now (try again later)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return "held"
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    return "unreachable"
                self._conn.close()
                self._conn = None
        try:
            return "retaken" if self.acquire() else "taken"
        except DBAPIError:
            return "unreachable"

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._conn.commit()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The session ended under us (the server restarted, an administrator ended it):
            # the lock went with it, there is nothing left to give back.
            log.warning(
                "the store's advisory lock had been lost with its connection (%s); "
                "another defwatch run could have started meanwhile",
                str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__,
            )
        finally:
            self._conn.close()
            self._conn = None
            self._engine.dispose()


def advisory_lock_held(store_url: str) -> bool:
    """Whether some session holds the store's lock right now."""
    probe = AdvisoryLock(store_url)
    if probe.acquire():
        probe.release()
        return False
    return True
