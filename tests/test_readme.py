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


def _first_screen() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Start here", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_first_screen_shows_make_check_and_docker() -> None:
    lines = _first_screen()
    assert lines[:4] == ["make run", "make test", "make demo", ".venv/bin/defwatch check"]
    assert sum(line.startswith(("docker ", "echo ")) for line in lines) == 3  # Docker in three lines


def test_first_screen_commands_exist() -> None:
    from scheduler.cli import build_parser

    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    parser = build_parser()
    for line in _first_screen():
        words = line.split()
        if words[0] == "make":
            assert re.search(rf"^{words[1]}:", makefile, re.M), line
        elif words[0].endswith("defwatch"):
            parser.parse_args(words[1:])  # exits (fails the test) on an unknown command or option
        elif words[0] == "docker":
            compose = words[words.index("-f") + 1]
            assert (README.parent / compose).is_file(), line
            assert "defwatch" in words or "up" in words
        elif words[0] == "echo":
            assert "deploy/.env" in line and "POSTGRES_PASSWORD" in line
