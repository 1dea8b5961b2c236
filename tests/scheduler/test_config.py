"""Configuration: discovery, defaults, interpolation and every kind of bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import ConfigError, find_config, load_config, parse_duration, parse_size

INTERFACE_EXAMPLE = """
[store]
url = "sqlite:///data/defwatch.db"

[crawl]
user_agent = "defwatch (+https://example.org/defwatch)"
concurrency_per_domain = 2
timeout = "60s"

[scheduler]
crawl_timeout = "15m"

[alerts]
retry_initial = "1m"
retry_max = "2h"
give_up_after = "48h"
ops_channel = "team-slack"
ops_after_failures = 3

[feeds]
dir = "public"
base_url = "http://localhost:8080/"
max_items = 100

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "https://j-defense.ikaros.jp/"
schedule = "*/15 * * * *"

[[sources]]
name = "mod"
kind = "mod"
url = "https://www.mod.go.jp/"

[[sources]]
name = "navalnews"
kind = "feed"
url = "https://www.navalnews.com/feed/"
schedule = "0 * * * *"

[[rules]]
name = "asean"
keywords = ["ASEAN", "東南アジア諸国連合"]
notify = ["team-slack", "ops-mail"]

[[rules]]
name = "jinji"
keywords = ["人事発令"]
fields = ["title"]
sources = ["jdefense", "mod"]
notify = ["hook"]

[channels.team-slack]
type = "slack"
url = "${SLACK_WEBHOOK_URL}"

[channels.hook]
type = "webhook"
url = "${ALERT_WEBHOOK_URL}"
secret = "${ALERT_WEBHOOK_SECRET}"

[channels.ops-mail]
type = "email"
smtp_url = "${SMTP_URL}"
from = "defwatch@example.org"
to = ["ops@example.org"]
"""

SECRETS = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T000/B000/XXXXSECRETSLACK",
    "ALERT_WEBHOOK_URL": "https://hooks.example.org/defwatch",
    "ALERT_WEBHOOK_SECRET": "s3cr3t-signing-key",
    "SMTP_URL": "smtp://user:p%40ssw0rd-SECRET@mail.example.org:587",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "defwatch.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_interface_example_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, INTERFACE_EXAMPLE), environ=SECRETS)
    assert [s.name for s in config.sources] == ["jdefense", "mod", "navalnews"]
    assert config.sources[2].kind == "feed" and config.sources[2].schedule == "0 * * * *"
    assert config.sources[1].schedule == "*/15 * * * *"  # default schedule
    assert config.sources[0].timezone == "Asia/Tokyo"
    assert config.crawl.timeout == 60 and config.scheduler.crawl_timeout == 900
    assert config.alerts.retry_initial == 60 and config.alerts.give_up_after == 48 * 3600
    assert config.alerts.ops_channel == "team-slack"
    assert config.rules[1].fields == ("title",) and config.rules[1].sources == ("jdefense", "mod")
    assert config.rules[0].fields == ("title", "summary", "body") and config.rules[0].on == ("new",)
    assert config.channels["hook"].options.secret == SECRETS["ALERT_WEBHOOK_SECRET"]
    assert config.channels["ops-mail"].options.to == ("ops@example.org",)


def test_channel_repr_hides_secrets(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, INTERFACE_EXAMPLE), environ=SECRETS)
    text = repr(config)
    for secret in SECRETS.values():
        assert secret not in text


def test_defaults_without_a_file() -> None:
    config = load_config(None, environ={})
    assert config.path is None
    assert {s.kind: s.url for s in config.sources} == {
        "jdefense": "https://j-defense.ikaros.jp/",
        "mod": "https://www.mod.go.jp/",
    }
    assert config.store.url == "sqlite:///data/defwatch.db"
    assert config.feeds.dir == "public"
    assert config.rules == () and dict(config.channels) == {}


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config(None, environ={}) is None
    (tmp_path / "defwatch.toml").write_text("")
    assert find_config(None, environ={}) == Path("defwatch.toml")
    assert find_config(None, environ={"DEFWATCH_CONFIG": "/etc/x.toml"}) == Path("/etc/x.toml")
    assert find_config("given.toml", environ={"DEFWATCH_CONFIG": "/etc/x.toml"}) == Path("given.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[[sources]]\nname="a"\nkind="feed"\nurl="https://x.org/f"\n[[sources]]\nname="b"\nkind="feed"\n'
            'url="https://x.org/g"\n[[sources]]\nname="c"\nkind="feed"\nurl="https://x.org/h"\nschedule="*/61 * * * *"\n',
            'sources[2].schedule: "*/61 * * * *" is not a valid cron expression',
            id="bad-cron",
        ),
        pytest.param(
            '[[sources]]\nname="a"\nkind="rss"\nurl="https://x.org/f"\n',
            'sources[0].kind: "rss" is not a source kind; expected one of: jdefense, mod, feed, page',
            id="unknown-kind",
        ),
        pytest.param(
            '[channels.x]\ntype="pager"\n',
            'channels.x.type: "pager" is not a channel type; expected one of: webhook, slack, email, file',
            id="unknown-channel-type",
        ),
        pytest.param(
            '[[rules]]\nname="r"\nkeywords=["a"]\nnotify=["nowhere"]\n',
            'rules[0].notify: "nowhere" is not a configured channel (none configured)',
            id="rule-unknown-channel",
        ),
        pytest.param(
            '[[rules]]\nname="r"\nkeywords=["a"]\nsources=["nosuch"]\n',
            'rules[0].sources: "nosuch" is not a configured source (configured: jdefense, mod)',
            id="rule-unknown-source",
        ),
        pytest.param(
            "[crawl]\nconcurrency = 4\n",
            "crawl.concurrency: unknown key; allowed keys are: allow_private, autothrottle, concurrency_per_domain, "
            "download_delay, "
            "max_response_size, obey_robots, precheck, scrapyd, timeout, user_agent",
            id="unknown-key",
        ),
        pytest.param(
            '[storage]\nurl="x"\n',
            "storage: unknown key; allowed keys are: alerts, channels, crawl, feeds, "
            "rules, scheduler, sources, store",
            id="unknown-section",
        ),
        pytest.param(
            '[[sources]]\nname="a"\nkind="feed"\nurl="https://x.org/f"\n[[sources]]\nname="a"\nkind="feed"\nurl="https://x.org/g"\n',
            'sources[1].name: "a" is used by another source; names must be unique',
            id="duplicate-source",
        ),
        pytest.param(
            '[[sources]]\nname="Naval News"\nkind="feed"\nurl="https://x.org/f"\n',
            'sources[0].name: "Naval News" is not a valid name (expected [a-z0-9-]+)',
            id="bad-name",
        ),
        pytest.param(
            '[crawl]\ntimeout = "soon"\n',
            'crawl.timeout: "soon" is not a duration (expected e.g. "30s", "15m", "2h", "7d")',
            id="bad-duration",
        ),
        pytest.param(
            "[crawl]\ntimeout = 60\n",
            "crawl.timeout: expected a string, got an integer",
            id="duration-not-string",
        ),
        pytest.param(
            '[feeds]\nmax_items = "many"\n',
            "feeds.max_items: expected an integer, got a string",
            id="bad-int",
        ),
        pytest.param(
            '[[sources]]\nname="a"\nkind="feed"\nurl="ftp://x.org/f"\n',
            'sources[0].url: "ftp://x.org/f" is not an http(s) URL',
            id="bad-url",
        ),
        pytest.param(
            '[[sources]]\nname="a"\nkind="feed"\nurl="https://x.org/f"\ntimezone="Mars/Olympus"\n',
            'sources[0].timezone: "Mars/Olympus" is not a known time zone (e.g. Asia/Tokyo)',
            id="bad-timezone",
        ),
        pytest.param(
            '[[sources]]\nname="a"\nkind="page"\nurl="https://x.org/"\nitem="div[["\nlink="a"\ntitle="h2"\n',
            'sources[0].item: "div[[" is not a valid CSS selector in source "a"',
            id="bad-selector",
        ),
        pytest.param(
            '[[sources]]\nname="j"\nkind="jdefense"\nurl="https://x.org/"\n[sources.selectors]\nranking="div[["\n',
            'sources[0].selectors.ranking: "div[[" is not a valid CSS selector',
            id="bad-jdefense-selector",
        ),
        pytest.param(
            '[[sources]]\nname="j"\nkind="jdefense"\nurl="https://x.org/"\n[sources.selectors]\ntype="xpath"\n'
            "body=\"//div[@class='x'\"\n",
            "sources[0].selectors.body: \"//div[@class='x'\" is not a valid XPath selector",
            id="bad-jdefense-xpath",
        ),
        pytest.param(
            '[[sources]]\nname="j"\nkind="jdefense"\nurl="https://x.org/"\n[sources.selectors]\nheadline="h1"\n',
            "sources[0].selectors.headline: unknown key; expected one of: type, article_links, title, date, body, "
            "ranking, tabs, lists",
            id="unknown-jdefense-selector",
        ),
        pytest.param('[[sources]]\nname="a"\nkind="feed"\n', "sources[0].url: required", id="missing-url"),
        pytest.param(
            '[[rules]]\nname="r"\n',
            "rules[0].keywords: a rule needs keywords or a regex",
            id="rule-without-keywords",
        ),
        pytest.param(
            '[[rules]]\nname="r"\nkeywords=["a"]\nfields=["headline"]\n',
            'rules[0].fields: "headline" is not one of: title, summary, body',
            id="bad-field",
        ),
        pytest.param(
            '[alerts]\nops_channel="ops"\n',
            'alerts.ops_channel: "ops" is not a configured channel (none configured)',
            id="ops-channel",
        ),
        pytest.param(
            '[store]\nurl="data/defwatch.db"\n',
            'store.url: "data/defwatch.db" is not a database URL',
            id="store-url",
        ),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\nurl = "sqlite:///x.db"\n\n[crawl\ntimeout = "1s"\n')
    with pytest.raises(ConfigError, match=r"TOML syntax error: .*line 4"):
        load_config(path, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})


def test_unset_variable_is_named_and_secret_values_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, INTERFACE_EXAMPLE)
    env = dict(SECRETS)
    del env["ALERT_WEBHOOK_SECRET"]
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    assert "channels.hook.secret: environment variable ALERT_WEBHOOK_SECRET is not set" in str(err.value)
    for secret in SECRETS.values():
        assert secret not in str(err.value)


def test_invalid_secret_value_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, '[channels.hook]\ntype="webhook"\nurl="${HOOK}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={"HOOK": "not-a-url-but-a-token-SECRET"})
    assert "channels.hook.url: (value not shown) is not an http(s) URL" in str(err.value)
    assert "SECRET" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("500ms", 0.5), ("1.5h", 5400)],
    ids=["s", "m", "h", "d", "ms", "fraction"],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "s", "1w", "-5m", "five minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("20MB") == 20_000_000
    assert parse_size("512KiB") == 512 * 1024
    with pytest.raises(ValueError):
        parse_size("big")


@pytest.mark.parametrize(
    "expr", ["*/15 * * * *", "0 9 * * 1-5", "0 0 1 * *", "*/5 * * * * *", "0 6 * * sun", "0 6 * * 0,7"]
)
def test_valid_cron_expressions(tmp_path: Path, expr: str) -> None:
    path = write(tmp_path, f'[[sources]]\nname="a"\nkind="feed"\nurl="https://x.org/f"\nschedule="{expr}"\n')
    assert load_config(path, environ={}).sources[0].schedule == expr
