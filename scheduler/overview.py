"""What a configuration makes defwatch do, in lines a person reads: the start-up banner of
``defwatch run`` and the report of ``defwatch check``. Secrets never appear in them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from core.channels import AppriseOptions, EmailOptions, FileOptions, SlackOptions, WebhookOptions
from core.config import ChannelConfig, Config, RuleConfig, SourceConfig
from core.cron import cron_trigger
from core.logs import mask


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("defwatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def config_label(config: Config) -> str:
    return config.path or "built-in defaults (no defwatch.toml here, no --config, no $DEFWATCH_CONFIG)"


def store_label(url: str) -> str:
    """The store's URL without its password; a SQLite file also by its absolute path."""
    try:
        parsed = make_url(url)
    except Exception:  # the configuration check has said so already
        return url
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return f"{shown} ({Path(parsed.database).resolve()})"
    return shown


def feeds_label(config: Config) -> str:
    return f"{Path(config.feeds.dir).resolve()}/ (readers fetch them at {config.feeds.base_url})"


def next_run(source: SourceConfig, now: datetime | None = None) -> datetime | None:
    if not source.enabled:
        return None
    now = (now or datetime.now(UTC)).astimezone(source.tz)
    fire: datetime | None = cron_trigger(source.schedule, source.tz).get_next_fire_time(None, now)
    return fire


def source_line(source: SourceConfig, now: datetime | None = None, due: bool = False) -> str:
    when = next_run(source, now)
    nxt = f"next run {when.strftime('%Y-%m-%d %H:%M %Z')}" if when else "disabled"
    if due and when:
        nxt = "crawled now (never crawled, or its run was missed), then on schedule"
    return (
        f"{source.name}: {source.kind} {source.url}, schedule '{source.schedule}' ({source.timezone}), {nxt}"
    )


def rule_line(rule: RuleConfig) -> str:
    what = [f"keywords {', '.join(rule.keywords)}"] if rule.keywords else []
    if rule.regex:
        what.append(f"regex {rule.regex}")
    where = f"sources {', '.join(rule.sources)}" if rule.sources else "every source"
    sends = f"sends to {', '.join(rule.notify)}" if rule.notify else f"feed rules/{rule.name}.rss only"
    return f"{rule.name}: on {'/'.join(rule.on)}, {'; '.join(what) or 'every story'}, {where}: {sends}"


def masked_url(url: str) -> str:
    """Scheme and host of a URL that may carry a token in its path or user part."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    rest = "/***" if parts.path.strip("/") or parts.query else "/"
    return f"{parts.scheme}://{host}{port}{rest}"


def channel_target(channel: ChannelConfig) -> str:
    o = channel.options
    if isinstance(o, EmailOptions):
        return f"{masked_url(o.smtp_url)} to {', '.join(o.to)}"
    if isinstance(o, FileOptions):
        return str(Path(o.path).resolve())
    if isinstance(o, WebhookOptions | SlackOptions):
        return masked_url(o.url)
    if isinstance(o, AppriseOptions):
        return ", ".join(masked_url(v) for v in o.urls)
    return "(no address)"


def channel_line(channel: ChannelConfig) -> str:
    return mask(f"{channel.name}: {channel.type} to {channel_target(channel)}")


def banner_lines(config: Config, now: datetime | None = None, due_now: set[str] | None = None) -> list[str]:
    """The start-up banner of ``defwatch run`` (logged at INFO, shown without -v)."""
    sources = [s for s in config.sources if s.enabled]
    lines = [
        f"defwatch {version()}: configuration {config_label(config)}",
        f"store {store_label(config.store.url)}",
        f"feeds {feeds_label(config)}",
        f"{len(sources)} source{'' if len(sources) == 1 else 's'}, "
        f"{len(config.rules)} rule{'' if len(config.rules) == 1 else 's'}, "
        f"{len(config.channels)} channel{'' if len(config.channels) == 1 else 's'}",
    ]
    shown = sources[:20]
    lines += [f"  {source_line(s, now, s.name in (due_now or set()))}" for s in shown]
    if len(sources) > len(shown):
        lines.append(f"  … and {len(sources) - len(shown)} more (defwatch check lists them all)")
    lines.append("running: Ctrl-C or SIGTERM stops it")
    return lines


def describe(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """What ``defwatch check`` prints: every part of the configuration."""
    return {
        "configuration": config_label(config),
        "store": store_label(config.store.url),
        "feeds": feeds_label(config),
        "sources": [source_line(s, now) for s in config.sources],
        "rules": [rule_line(r) for r in config.rules],
        "channels": [channel_line(c) for c in config.channels.values()],
    }
