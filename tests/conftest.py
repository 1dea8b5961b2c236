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


@pytest.fixture
def store_factory(tmp_path: Path) -> Iterator[Callable[..., object]]:
    from store import Store

    opened: list[Store] = []

    def make(name: str = "defwatch.db") -> Store:
        s = Store.open(f"sqlite:///{tmp_path / name}")
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
