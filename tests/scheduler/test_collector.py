"""Python's garbage collector, paused while a command starts, is on for the command's own
work (a daemon with it off would grow for ever), and a forked crawl child collects what
it makes while leaving what it inherited frozen (scheduler.collector)."""

from __future__ import annotations

import argparse
import gc
import os
from pathlib import Path

import pytest

import scheduler.commands.status
from core.config import Config
from scheduler import collector
from scheduler.cli import main


def test_a_command_does_its_work_with_the_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def status(args: argparse.Namespace, config: Config) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEFWATCH_CONFIG", raising=False)
    monkeypatch.setattr(scheduler.commands.status, "run", status)
    assert main(["status"]) == 0
    assert seen == [True]
    (tmp_path / "bad.toml").write_text("[nosuch]\n", encoding="utf-8")
    assert main(["--config", "bad.toml", "status"]) == 2  # a configuration error
    with pytest.raises(SystemExit):
        main(["--help"])
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_forked_child_collects_its_own_objects_and_leaves_its_parents_frozen() -> None:
    read_fd, write_fd = os.pipe()
    collector.pause()
    pid = collector.fork_frozen()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_fd, f"{gc.isenabled()} {gc.get_freeze_count() > 0}".encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as answer:
        child = answer.read().decode()
    os.waitpid(pid, 0)
    assert child == "True True"
    assert gc.isenabled() and gc.get_freeze_count() == 0  # the parent as before
