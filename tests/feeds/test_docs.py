"""docs/feeds.md's examples are real: its TOML loads, its /healthz example has the shape
the server answers with."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import load_config
from core.model import Outcome, RunResult
from feeds.serve import Health
from store import Store

DOC = (Path(__file__).resolve().parents[2] / "docs" / "feeds.md").read_text(encoding="utf-8")
TOML = re.findall(r"```toml\n(.*?)```", DOC, re.S)
JSON = re.findall(r"```json\n(.*?)```", DOC, re.S)


@pytest.mark.parametrize("block", TOML, ids=[f"toml{i}" for i in range(len(TOML))])
def test_toml_examples_load(tmp_path: Path, block: str) -> None:
    (tmp_path / "defwatch.toml").write_text(block, encoding="utf-8")
    config = load_config(tmp_path / "defwatch.toml")
    assert config.feeds.max_items == 100


def test_healthz_example_has_the_real_shape(tmp_path: Path) -> None:
    [example] = [json.loads(block) for block in JSON]
    (tmp_path / "defwatch.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path / "d.db"}"\n')
    config = load_config(tmp_path / "defwatch.toml")
    with Store.open(config.store.url) as store:
        store.finish_run(RunResult("jdefense", Outcome.OK, store.start_run("jdefense")))
    health = Health(config)
    status, doc = health.report(datetime.now(UTC))
    health.close()
    assert status == 200
    assert list(doc) == list(example)
    assert doc["store"] == example["store"]
    assert list(doc["sources"]["jdefense"]) == list(example["sources"]["jdefense"])
