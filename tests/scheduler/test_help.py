"""Help for everything: every command (and sub-command) has a description and examples,
every option and argument a one-line description, and its default when it has one."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from scheduler.cli import build_parser
from tests.conftest import Defwatch


def parsers(
    parser: argparse.ArgumentParser, name: str = "defwatch"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


ALL = list(parsers(build_parser()))


def test_every_command_is_there() -> None:
    names = {name for name, _ in ALL}
    for command in ("crawl", "run", "feeds", "alerts", "ranking", "status", "check", "serve", "demo"):
        assert f"defwatch {command}" in names
    assert {"defwatch stories list", "defwatch stories search", "defwatch stories show"} <= names


@pytest.mark.parametrize(("name", "parser"), ALL, ids=[name for name, _ in ALL])
def test_every_parser_describes_itself_and_each_option(name: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description and "\n" not in parser.description.strip(), name
    assert parser.epilog and parser.epilog.startswith("examples:\n  "), name
    text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        label = "/".join(action.option_strings) or action.metavar or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{name}: {label} has no help"
        assert "\n" not in action.help, f"{name}: {label}: one line"
        default = action.default
        if default not in (None, False, argparse.SUPPRESS, [], 0) and action.option_strings:
            assert f"default: {default}" in " ".join(text.split()), f"{name}: {label} default {default!r}"


def test_help_and_version_from_the_command_line(defwatch: Defwatch) -> None:
    result = defwatch("serve", "--help")
    assert result.returncode == 0
    flat = " ".join(result.stdout.split())
    assert "TCP port to listen on (0: any free one) (default: 8080)" in flat
    assert "(default: 127.0.0.1)" in flat and "examples: defwatch serve" in flat
