"""The defwatch command as a user runs it: help, status, and one-line errors."""

from __future__ import annotations

import json
import sys

from tests.conftest import Defwatch

COMMANDS = ["crawl", "run", "feeds", "alerts", "ranking", "status", "serve", "stories", "demo"]


def test_help_lists_every_command(defwatch: Defwatch) -> None:
    result = defwatch("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_status_on_an_empty_store(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("status")
    assert result.returncode == 0, result.stderr
    assert "jdefense" in result.stdout and "mod" in result.stdout and "never" in result.stdout
    assert "0 pending, 0 failed" in result.stdout


def test_status_json(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["name"] for s in report["sources"]] == ["jdefense", "mod"]
    assert report["sources"][0]["last_run"] is None
    assert report["sources"][0]["next_run"].endswith("+09:00")
    assert report["alerts"] == {"pending": 0, "sent": 0, "failed": 0}


def test_config_option_before_or_after_the_command(defwatch: Defwatch) -> None:
    defwatch.write_config('[store]\nurl = "sqlite:///elsewhere.db"\n', name="other.toml")
    defwatch.create_store("elsewhere.db")
    assert defwatch("--config", "other.toml", "status").returncode == 0
    assert defwatch("status", "--config", "other.toml", "-v").returncode == 0
    assert defwatch("status").stderr.startswith("defwatch: no store at data/defwatch.db")


def test_environment_variable_names_the_config(defwatch: Defwatch) -> None:
    defwatch.write_config('[store]\nurl = "sqlite:///from-env.db"\n', name="env.toml")
    defwatch.create_store("from-env.db")
    assert defwatch("status", env={"DEFWATCH_CONFIG": "env.toml"}).returncode == 0
    assert defwatch("status").returncode == 2  # ./data/defwatch.db: not created


def test_bad_config_is_one_line_and_exit_2(defwatch: Defwatch) -> None:
    defwatch.write_config(
        '[[sources]]\nname = "x"\nkind = "feed"\nurl = "https://x.org/f"\nschedule = "*/61 * * * *"\n'
    )
    result = defwatch("status")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == 'defwatch: defwatch.toml: sources[0].schedule: "*/61 * * * *" is not a valid cron expression'
    )
    assert "Traceback" not in result.stderr


def test_malformed_toml_names_the_line(defwatch: Defwatch) -> None:
    defwatch.write_config('[store]\nurl = "sqlite:///x.db"\n[crawl\n')
    result = defwatch("status")
    assert result.returncode == 2
    assert "defwatch.toml: TOML syntax error" in result.stderr and "line 3" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_given_explicitly(defwatch: Defwatch) -> None:
    result = defwatch("status", "--config", "missing.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == "defwatch: missing.toml: file not found"


def test_unset_secret_is_named_never_shown(defwatch: Defwatch) -> None:
    (defwatch.cwd / ".env").write_text("OTHER=x\n")
    defwatch.write_config('[channels.hook]\ntype = "webhook"\nurl = "${HOOK_URL}"\n')
    result = defwatch("status")
    assert result.returncode == 2
    assert "channels.hook.url: environment variable HOOK_URL is not set" in result.stderr


def test_secret_from_dotenv_is_used_and_not_printed(defwatch: Defwatch) -> None:
    secret = "https://hooks.example.org/T0KEN-VERY-SECRET"
    (defwatch.cwd / ".env").write_text(f"HOOK_URL={secret}\n")
    defwatch.write_config('[channels.hook]\ntype = "webhook"\nurl = "${HOOK_URL}"\n')
    defwatch.create_store()
    for args in (("status",), ("status", "--json"), ("-vv", "status")):
        result = defwatch(*args)
        assert result.returncode == 0, result.stderr
        assert "T0KEN" not in result.stdout + result.stderr


def test_unusable_store_path(defwatch: Defwatch) -> None:
    (defwatch.cwd / "blocker").write_text("a file where a folder should be")
    defwatch.write_config('[store]\nurl = "sqlite:///blocker/defwatch.db"\n')
    result = defwatch("crawl")  # fails at the store (or its lock), before any request
    assert result.returncode == 2
    assert result.stderr.startswith("defwatch: ") and "cannot create folder blocker" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_text_log_lines_are_one_line_per_event() -> None:
    import logging

    from core.logs import OneLineFormatter

    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "crawl %s\nfailed", ("mod",), sys.exc_info()
        )
    line = OneLineFormatter().format(record)
    assert "\n" not in line
    assert line.endswith("crawl mod | failed | ValueError: first line second line")
