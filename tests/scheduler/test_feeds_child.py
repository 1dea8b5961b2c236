"""The daemon's feed build runs in a child of its zygote (scheduler.daemon.build_feeds_child,
called here in the test's own process): it builds from the configuration file, and says
by its exit status when that file no longer loads (the daemon then builds itself)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import load_config
from scheduler.daemon import NO_CONFIG, build_feeds_child
from store import Store


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The child sets up logging as a command does; the test's handlers come back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_feed_build_child_builds_and_tells_a_configuration_it_cannot_read(
    tmp_path: Path, root_logging: None
) -> None:
    config = tmp_path / "defwatch.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/data/defwatch.db"\n[feeds]\ndir = "{tmp_path}/public"\n',
        encoding="utf-8",
    )
    Store.open(load_config(config).store.url).close()
    assert build_feeds_child(str(config), None, 0, "text") == 0
    assert (tmp_path / "public" / "all.rss").is_file()
    assert build_feeds_child(str(config), datetime.now(UTC).isoformat(), 0, "text") == 0
    config.write_text("[store\n", encoding="utf-8")
    assert build_feeds_child(str(config), None, 0, "text") == NO_CONFIG
