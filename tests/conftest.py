"""Fixtures shared by every test: run the real ``defwatch`` command in a temporary
working directory, and the imitation sites on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


class Defwatch:
    """``defwatch`` as a user runs it: a subprocess in its own working directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DEFWATCH_")}
        self.env["PYTHONPATH"] = str(REPO)

    def write_config(self, text: str, name: str = "defwatch.toml") -> Path:
        path = self.cwd / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def create_store(self, path: str = "data/defwatch.db") -> Path:
        """An empty store where the default configuration looks, as a first crawl leaves
        it (read-only commands refuse to create one)."""
        from store import Store

        Store.open(f"sqlite:///{self.cwd / path}").close()
        return self.cwd / path

    def __call__(
        self, *args: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scheduler", *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def run_wrapped(self, argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A command line that runs ``defwatch`` itself (through ``unshare``, say), here."""
        return subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "scheduler", *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def defwatch(tmp_path: Path) -> Defwatch:
    return Defwatch(tmp_path)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    """The PostgreSQL server of this session (see tests/pg.py), or None without one; in CI
    (``CI`` set) a missing server fails the run instead of skipping the PostgreSQL half."""
    from tests import pg

    url, cluster = pg.start_or_find()
    if url is None and os.environ.get("CI"):
        raise RuntimeError("CI needs PostgreSQL: install Debian's postgresql or set DEFWATCH_TEST_PG")
    yield url
    if cluster is not None:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """Makes store URLs of the parametrised engine: ``store_url(name)``."""
    made: dict[str, str] = {}

    def sqlite(name: str = "defwatch.db") -> str:
        return f"sqlite:///{tmp_path / name}"

    if request.param == "sqlite":
        return sqlite
    admin = request.getfixturevalue("pg_admin_url")
    if admin is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    from tests import pg

    def postgresql(name: str = "defwatch.db") -> str:
        if name not in made:
            made[name] = pg.new_database(admin)
        return made[name]

    return postgresql


@pytest.fixture
def store_factory(store_url: Callable[[str], str]) -> Iterator[Callable[..., object]]:
    from store import Store

    opened: list[Store] = []

    def make(name: str = "defwatch.db") -> Store:
        s = Store.open(store_url(name))
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
