"""A PostgreSQL server for the tests: the one named by ``DEFWATCH_TEST_PG`` (a URL of a
database whose user may create databases), or a private cluster started for this test
session when Debian's ``postgresql`` is installed (initdb in a temporary folder, a free port
on 127.0.0.1, no system service). Each test gets a fresh database of its own."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A throw-away cluster owned by this process (stopped by ``stop``)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="defwatch-pg-"))
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the `postgres` user Debian creates.
        self.runas: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]
        data = self.folder / "data"
        subprocess.run(
            [*self.runas, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "defwatch",
             "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.opts = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.start()
        self.url = f"postgresql+psycopg://defwatch@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-o", self.opts,
             "-l", str(self.folder / "server.log"), "-w", "-t", "120", "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def restart(self) -> None:
        """Stop the server (``-m fast``: every session is ended, as by an administrator's
        restart) and start it again on the same port."""
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast",
             "-w", "-t", "120", "stop"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.start()

    def stop(self) -> None:
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
             "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start_or_find() -> tuple[str | None, Cluster | None]:
    """(admin URL, cluster we started) — (None, None) when no server can be had."""
    url = os.environ.get("DEFWATCH_TEST_PG")
    if url:
        return url, None
    bindir = _binaries()
    if bindir is None:
        return None, None
    cluster = Cluster(bindir)
    return cluster.url, cluster


def new_database(admin_url: str) -> str:
    """Create an empty database and return its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def wait_until_blocked(url: str, thread: threading.Thread, bound: float = 600) -> bool:
    """Wait until a session of ``url``'s database waits for a lock (True), or ``thread`` ends
    first (False): how a test knows, by construction rather than by a sleep, that its second
    writer has reached the first one's lock."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for _ in range(int(bound * 10)):
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                if waiting:
                    return True
                if not thread.is_alive():
                    return False
                time.sleep(0.1)
                conn.rollback()
    finally:
        engine.dispose()
    return False


def race(url: str, first: Callable[[Connection], None], second: Callable[[Any], None]) -> list[Exception]:
    """Two writers of ``url``'s store at once, by construction: ``first`` writes in a
    transaction held open until ``second``, given a store of its own (as another process
    has), is waiting for it (:func:`wait_until_blocked`); then it commits. The errors
    ``second`` raised."""
    from store import Store

    errors: list[Exception] = []
    written, release = threading.Event(), threading.Event()
    with Store.open(url) as one, Store.open(url) as other:

        def hold() -> None:
            with one.transaction() as conn:
                first(conn)
                written.set()
                release.wait(600)

        def write() -> None:
            try:
                second(other)
            except Exception as exc:
                errors.append(exc)

        holder, writer = threading.Thread(target=hold), threading.Thread(target=write)
        holder.start()
        try:
            assert written.wait(600)
            writer.start()
            assert wait_until_blocked(url, writer), errors
        finally:
            release.set()
            holder.join(600)
            if writer.ident is not None:
                writer.join(600)
    return errors
