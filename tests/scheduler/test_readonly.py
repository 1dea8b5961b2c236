"""Read-only commands in an empty folder: they say there is no store yet and create none."""

from __future__ import annotations

import pytest

from tests.conftest import Defwatch

READ_ONLY = [
    ("status",),
    ("status", "--json"),
    ("ranking",),
    ("ranking", "--window", "1w", "--since", "7d"),
    ("stories", "show", "https://example.org/a"),
    ("stories", "list"),
    ("stories", "search", "ASEAN"),
    ("feeds",),
    ("alerts",),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a) for a in READ_ONLY])
def test_a_read_only_command_never_creates_the_store(defwatch: Defwatch, args: tuple[str, ...]) -> None:
    result = defwatch(*args)
    assert result.returncode == 2
    assert result.stderr == "defwatch: no store at data/defwatch.db: run `defwatch crawl` first\n"
    assert list(defwatch.cwd.iterdir()) == []  # no data/ folder, no lock, no feeds


def test_the_store_named_by_the_configuration_is_the_one_missing(defwatch: Defwatch) -> None:
    defwatch.write_config('[store]\nurl = "sqlite:///var/watch.db"\n')
    result = defwatch("status")
    assert result.returncode == 2
    assert result.stderr == "defwatch: no store at var/watch.db: run `defwatch crawl` first\n"
    assert not (defwatch.cwd / "var").exists()


def test_once_created_the_read_only_commands_work(defwatch: Defwatch) -> None:
    defwatch.create_store()
    assert defwatch("status").returncode == 0
    assert defwatch("ranking").returncode == 0
