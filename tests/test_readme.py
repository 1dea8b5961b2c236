"""The README's configuration examples are real: each TOML block loads as it stands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import load_config

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/X",
    "ALERT_WEBHOOK_URL": "https://example.org/hooks/defwatch",
    "ALERT_WEBHOOK_SECRET": "signing-secret",
    "SMTP_URL": "smtp://user:password@mail.example.org:587",
}


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_toml_loads(tmp_path: Path, block: str) -> None:
    path = tmp_path / "defwatch.toml"
    path.write_text(block, encoding="utf-8")
    load_config(path, environ=ENV)


def test_readme_defaults_block_matches_the_defaults(tmp_path: Path) -> None:
    block = next(b for b in BLOCKS if b.startswith("[store]"))
    path = tmp_path / "defwatch.toml"
    path.write_text(block, encoding="utf-8")
    assert load_config(path, environ={}).crawl == load_config(None, environ={}).crawl
