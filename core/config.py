"""defwatch.toml: discovery, ${NAME} interpolation from .env or the environment, and
validation of every section into typed, immutable settings (interface.md "Configuration").

Every error is one line naming the file, the key path and what was expected. Values that
came from the environment are secrets and never appear in an error or a repr.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.cron import cron_trigger
from core.logs import register_secret
from core.model import WINDOWS

log = logging.getLogger(__name__)

DEFAULT_CONFIG_NAME = "defwatch.toml"
DEFAULT_TIMEZONE = "Asia/Tokyo"
NAME_RE = re.compile(r"^[a-z0-9-]+$")
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line a user sees."""


def parse_duration(text: str) -> float:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"7d"`` (also ``ms``) as seconds."""
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parse_size(text: str) -> int:
    """``"20MB"``, ``"512KiB"`` as bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def format_size(n: int) -> str:
    """Bytes as a person reads them: ``"10 MB"``, ``"1.5 KB"``, ``"512 bytes"``."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------------------
# Settings objects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreConfig:
    url: str = "sqlite:///data/defwatch.db"


@dataclass(frozen=True)
class CrawlConfig:
    user_agent: str = "defwatch/0.1 (+https://example.org/defwatch)"
    concurrency_per_domain: int = 2
    timeout: float = 60.0
    max_response_size: int = 10 * 1000**2
    obey_robots: bool = True
    autothrottle: bool = True
    download_delay: float = 0.0
    # Fetch from loopback, link-local and private addresses: true for any host, or a list of
    # the hosts ("intranet.example", "127.0.0.1:8080") allowed to be private (crawler.addresses).
    allow_private: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class SchedulerConfig:
    crawl_timeout: float = 15 * 60.0
    jitter: float = 5.0  # seconds; small enough that an alert comes within interval + 10 s
    misfire_grace: float = 300.0


@dataclass(frozen=True)
class AlertsConfig:
    retry_initial: float = 60.0
    retry_max: float = 2 * 3600.0
    give_up_after: float = 48 * 3600.0
    ops_channel: str | None = None
    ops_after_failures: int = 3
    once_wait: float = 30.0  # run --once waits for a retry due within this long (Retry-After)


@dataclass(frozen=True)
class FeedsConfig:
    dir: str = "public"
    base_url: str = "http://localhost:8080/"
    max_items: int = 100
    opml_format: str = "rss"  # which of each feed's two files index.opml lists


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str
    schedule: str = "*/15 * * * *"
    timezone: str = DEFAULT_TIMEZONE
    enabled: bool = True
    keep_params: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RuleConfig:
    name: str
    keywords: tuple[str, ...] = ()
    regex: str | None = None
    exclude: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("title", "summary", "body")
    sources: tuple[str, ...] = ()  # empty: every source
    on: tuple[str, ...] = ("new",)
    notify: tuple[str, ...] = ()
    windows: tuple[str, ...] = WINDOWS
    max_rank: int | None = None


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # options hold secrets (URLs with tokens, passwords)
        return f"ChannelConfig(name={self.name!r}, type={self.type!r}, options=<redacted>)"


@dataclass(frozen=True)
class Config:
    path: str | None
    store: StoreConfig
    crawl: CrawlConfig
    scheduler: SchedulerConfig
    alerts: AlertsConfig
    feeds: FeedsConfig
    sources: tuple[SourceConfig, ...]
    rules: tuple[RuleConfig, ...]
    channels: Mapping[str, ChannelConfig]

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


# --------------------------------------------------------------------------------------
# What each source kind and channel type accepts (the one declaration config, docs and
# --help read). Spec: key -> (kind of value, default); default REQUIRED means required.
# --------------------------------------------------------------------------------------

REQUIRED = object()

SOURCE_COMMON: dict[str, tuple[str, Any]] = {
    "name": ("name", REQUIRED),
    "kind": ("str", REQUIRED),
    "url": ("url", REQUIRED),
    "schedule": ("cron", "*/15 * * * *"),
    "timezone": ("timezone", DEFAULT_TIMEZONE),
    "enabled": ("bool", True),
    "keep_params": ("list", []),
    "max_response_size": ("size", None),  # None: [crawl] max_response_size
}

SOURCE_KINDS: dict[str, dict[str, tuple[str, Any]]] = {
    "jdefense": {
        "sections": ("list", None),  # None: every section the home page's navigation links
        "selectors": ("selectors", None),  # [sources.selectors]: crawler/selectors.py
        "probe_misses": ("int", 5),
        "probe_max": ("int", 50),
    },
    "mod": {
        "feeds": ("list", ["/j/rss/news.xml", "/j/rss/update.xml"]),
        "kisha": ("str", "/j/press/kisha/kisha_ja.js"),
        "jinji": ("list", ["/j/press/jinji/{year}/index.html"]),
        "max_pdf_size": ("size", 20 * 1000**2),
        "fetch_html": ("bool", True),
    },
    "feed": {
        "fetch_articles": ("bool", False),
        "max_items": ("int", 1000),  # items read per fetch; the rest counted (crawler.spiders.feed)
        "language": ("str", None),  # ja, zh, ko: titles that read as mojibake degrade the run
    },
    "page": {
        "selector_type": ("choice:css,xpath", "css"),
        "item": ("selector", REQUIRED),
        "link": ("selector", REQUIRED),
        "title": ("selector", REQUIRED),
        "date": ("selector", None),
        "date_format": ("str", None),
        "next": ("selector", None),
        "max_pages": ("int", 5),
        "fetch_articles": ("bool", False),
    },
}

CHANNEL_COMMON: dict[str, tuple[str, Any]] = {
    "type": ("str", REQUIRED),
    "timeout": ("duration", 10.0),
    "min_interval": ("duration", 0.0),
    "digest": ("duration", None),
    "language": ("choice:en,ja", "en"),  # the default templates (alerts.templates)
    "title_template": ("str", None),  # Jinja2, sandboxed
    "body_template": ("str", None),
}

CHANNEL_TYPES: dict[str, dict[str, tuple[str, Any]]] = {
    "webhook": {"url": ("secret-url", REQUIRED), "secret": ("secret", None)},
    "slack": {"url": ("secret-url", REQUIRED), "min_interval": ("duration", 1.0)},
    "email": {
        "smtp_url": ("secret-smtp", REQUIRED),
        "from": ("str", REQUIRED),
        "to": ("list", REQUIRED),
        "require_tls": ("bool", False),
        "list_unsubscribe": ("str", None),  # a List-Unsubscribe value (mailto: or https: URL)
    },
    "file": {"path": ("str", REQUIRED)},
    "apprise": {"urls": ("list", REQUIRED)},  # Apprise URLs, secrets through ${VAR}
}

RULE_FIELDS = ("title", "summary", "body")
RULE_EVENTS = ("new", "revised", "ranking")
RANKING_WINDOWS = WINDOWS


def default_sources() -> list[dict[str, Any]]:
    return [
        {
            "name": "jdefense",
            "kind": "jdefense",
            "url": "https://j-defense.ikaros.jp/",
            "schedule": "*/15 * * * *",
        },
        {"name": "mod", "kind": "mod", "url": "https://www.mod.go.jp/", "schedule": "*/10 * * * *"},
    ]


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def find_config(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """``--config PATH``, else ``$DEFWATCH_CONFIG``, else ``./defwatch.toml``, else None."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("DEFWATCH_CONFIG"):
        return Path(env["DEFWATCH_CONFIG"])
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.exists() else None


def load_dotenv_file(path: str | os.PathLike[str] = ".env") -> None:
    """Load ``.env`` from the working directory; the real environment wins.

    ``${NAME}`` is expanded in unquoted and double-quoted values, never in single-quoted
    ones (as in a shell: python-dotenv expands both). A ``.env`` other users can read is
    warned about: it holds the secrets."""
    import io

    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    file = Path(path)
    if not file.is_file():
        return
    mode = file.stat().st_mode
    if mode & 0o044:
        log.warning(
            "%s can be read by other users of this machine (mode %o); it holds secrets: chmod 600 %s",
            file,
            mode & 0o777,
            file,
        )
    text = file.read_text(encoding="utf-8")
    literal = {
        b.key
        for b in parse_stream(io.StringIO(text))
        if b.key and b.original.string.split("=", 1)[-1].lstrip().startswith("'")
    }
    expanded = dotenv_values(stream=io.StringIO(text), interpolate=True)
    raw = dotenv_values(stream=io.StringIO(text), interpolate=False)
    for key, value in expanded.items():
        value = raw[key] if key in literal else value
        if value is not None and key not in os.environ:
            os.environ[key] = value


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, interpolate and validate a config file, or the built-in defaults when None."""
    env = dict(os.environ if environ is None else environ)
    if path is None:
        return _Loader("(defaults)", env).build({})
    p = Path(path)
    label = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: TOML syntax error: {exc}") from None
    return _Loader(label, env).build(data)


def load(explicit: str | None = None) -> Config:
    """What every command does first: .env, discovery, validation."""
    load_dotenv_file()
    return load_config(find_config(explicit))


class _Loader:
    def __init__(self, label: str, env: Mapping[str, str]) -> None:
        self.label = label
        self.env = env

    # -- errors and primitive readers -----------------------------------------------
    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.label}: {key}: {message}" if key else f"{self.label}: {message}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_type_name(value)}")
        return value

    def check_keys(self, table: Mapping[str, Any], allowed: Any, key: str) -> None:
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            where = f"{key}.{unknown[0]}" if key else unknown[0]
            raise self.fail(where, f"unknown key; allowed keys are: {', '.join(sorted(allowed))}")

    def interpolate(self, value: str, key: str) -> tuple[str, bool]:
        """Replace ${NAME}; say whether anything came from the environment (a secret)."""
        secret = False

        def sub(m: re.Match[str]) -> str:
            nonlocal secret
            name = m.group(1)
            if name not in self.env or self.env[name] == "":
                raise self.fail(
                    key, f"environment variable {name} is not set (put it in .env or the environment)"
                )
            secret = True
            register_secret(self.env[name])
            return self.env[name]

        return _VAR_RE.sub(sub, value), secret

    def read(self, kind: str, value: Any, key: str) -> Any:
        """Validate one value of the given kind and return it converted."""
        if kind in (
            "str",
            "name",
            "url",
            "cron",
            "timezone",
            "duration",
            "size",
            "selector",
        ) or kind.startswith(("choice:", "secret")):
            if not isinstance(value, str):
                raise self.fail(key, f"expected a string, got {_type_name(value)}")
            text, from_env = self.interpolate(value, key)
            shown = "(value not shown)" if (from_env or kind.startswith("secret")) else f'"{value}"'
            if kind.startswith("secret") and not from_env and _looks_secret(kind, text):
                log.warning(
                    "%s: %s: a secret is written in the file itself; put it in .env and write ${NAME} here",
                    self.label,
                    key,
                )
            return self._read_text(kind, text, shown, key)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(key, f"expected an integer, got {_type_name(value)}")
            if value < 0:
                raise self.fail(key, f"expected a non-negative integer, got {value}")
            return value
        if kind == "bool-or-list":
            if isinstance(value, bool):
                return value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(key, "expected true, false or a list of hosts")
            return tuple(self.read("list", value, key))
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(key, f"expected true or false, got {_type_name(value)}")
            return value
        if kind == "selectors":
            return self.selectors_table(value, key)
        if kind == "list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(key, "expected a list of strings")
            return [self.interpolate(v, key)[0] for v in value]
        raise AssertionError(kind)

    def selectors_table(self, value: Any, key: str) -> dict[str, str]:
        """``[sources.selectors]``: known keys, each a valid CSS (or, with ``type =
        "xpath"``, XPath) expression."""
        from core.selectors import SELECTOR_KEYS, compile_selector

        table = self.table(value, key)
        allowed = ("type", *SELECTOR_KEYS)
        for k in table:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"unknown key; expected one of: {', '.join(allowed)}")
        out = {k: self.read("str", v, f"{key}.{k}") for k, v in table.items()}
        kind = out.get("type", "css")
        if kind not in ("css", "xpath"):
            raise self.fail(f"{key}.type", f'"{kind}" is not a selector type; expected css or xpath')
        for k, expr in out.items():
            if k == "type":
                continue
            try:
                compile_selector(expr, kind)
            except ValueError as exc:
                raise self.fail(
                    f"{key}.{k}",
                    f'"{expr}" is not a valid {"CSS" if kind == "css" else "XPath"} selector ({exc})',
                ) from None
        return out

    def _read_text(self, kind: str, text: str, shown: str, key: str) -> Any:
        if kind == "name":
            if not NAME_RE.match(text):
                raise self.fail(key, f"{shown} is not a valid name (expected [a-z0-9-]+)")
        elif kind in ("url", "secret-url"):
            if not re.match(r"^https?://[^/\s]+", text):
                raise self.fail(key, f"{shown} is not an http(s) URL")
        elif kind == "secret-smtp":
            if not re.match(r"^smtps?://[^/\s]+", text):
                raise self.fail(key, f"{shown} is not an smtp:// or smtps:// URL")
        elif kind == "cron":
            try:
                cron_trigger(text, DEFAULT_TIMEZONE)
            except ValueError:
                raise self.fail(key, f"{shown} is not a valid cron expression") from None
        elif kind == "timezone":
            try:
                ZoneInfo(text)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.fail(key, f"{shown} is not a known time zone (e.g. Asia/Tokyo)") from None
        elif kind == "duration":
            try:
                return parse_duration(text)
            except ValueError:
                raise self.fail(
                    key, f'{shown} is not a duration (expected e.g. "30s", "15m", "2h", "7d")'
                ) from None
        elif kind == "size":
            try:
                return parse_size(text)
            except ValueError:
                raise self.fail(key, f'{shown} is not a size (expected e.g. "512KB", "20MB")') from None
        elif kind.startswith("choice:"):
            choices = kind.split(":", 1)[1].split(",")
            if text not in choices:
                raise self.fail(key, f"{shown} is not one of: {', '.join(choices)}")
        return text

    def section(self, data: Mapping[str, Any], name: str, spec: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        table = self.table(data.get(name, {}), name)
        self.check_keys(table, spec, name)
        out: dict[str, Any] = {}
        for key, (kind, default) in spec.items():
            if key in table:
                out[key] = self.read(kind, table[key], f"{name}.{key}")
            elif default is not REQUIRED:
                out[key] = default
        return out

    # -- the whole file --------------------------------------------------------------
    def build(self, data: Mapping[str, Any]) -> Config:
        self.check_keys(
            data, ("store", "crawl", "scheduler", "alerts", "feeds", "sources", "rules", "channels"), ""
        )
        store = self.section(data, "store", {"url": ("str", StoreConfig.url)})
        if "://" not in store["url"]:
            raise self.fail(
                "store.url", f'"{store["url"]}" is not a database URL (e.g. sqlite:///data/defwatch.db)'
            )
        crawl_defaults = CrawlConfig()
        crawl = self.section(
            data,
            "crawl",
            {
                "user_agent": ("str", crawl_defaults.user_agent),
                "concurrency_per_domain": ("int", crawl_defaults.concurrency_per_domain),
                "timeout": ("duration", crawl_defaults.timeout),
                "max_response_size": ("size", crawl_defaults.max_response_size),
                "obey_robots": ("bool", True),
                "autothrottle": ("bool", True),
                "download_delay": ("duration", 0.0),
                "allow_private": ("bool-or-list", False),
            },
        )
        if crawl["concurrency_per_domain"] < 1:
            raise self.fail("crawl.concurrency_per_domain", "expected an integer of at least 1")
        sched = self.section(
            data,
            "scheduler",
            {
                "crawl_timeout": ("duration", SchedulerConfig.crawl_timeout),
                "jitter": ("duration", SchedulerConfig.jitter),
                "misfire_grace": ("duration", SchedulerConfig.misfire_grace),
            },
        )
        alerts = self.section(
            data,
            "alerts",
            {
                "retry_initial": ("duration", AlertsConfig.retry_initial),
                "retry_max": ("duration", AlertsConfig.retry_max),
                "give_up_after": ("duration", AlertsConfig.give_up_after),
                "ops_channel": ("str", None),
                "ops_after_failures": ("int", AlertsConfig.ops_after_failures),
                "once_wait": ("duration", AlertsConfig.once_wait),
            },
        )
        feeds = self.section(
            data,
            "feeds",
            {
                "dir": ("str", FeedsConfig.dir),
                "base_url": ("url", FeedsConfig.base_url),
                "max_items": ("int", FeedsConfig.max_items),
                "opml_format": ("choice:rss,atom", FeedsConfig.opml_format),
            },
        )
        channels = self.channels(data.get("channels", {}))
        sources = self.sources(data["sources"] if "sources" in data else default_sources())
        rules = self.rules(data.get("rules", []), {s.name for s in sources}, set(channels))
        if alerts["ops_channel"] is not None and alerts["ops_channel"] not in channels:
            raise self.fail(
                "alerts.ops_channel",
                f'"{alerts["ops_channel"]}" is not a configured channel{_known(channels)}',
            )
        return Config(
            path=None if self.label == "(defaults)" else self.label,
            store=StoreConfig(**store),
            crawl=CrawlConfig(**crawl),
            scheduler=SchedulerConfig(**sched),
            alerts=AlertsConfig(**alerts),
            feeds=FeedsConfig(**feeds),
            sources=tuple(sources),
            rules=tuple(rules),
            channels=channels,
        )

    def sources(self, value: Any) -> list[SourceConfig]:
        if not isinstance(value, list):
            raise self.fail("sources", "expected an array of tables ([[sources]])")
        out: list[SourceConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = f"sources[{i}]"
            table = self.table(item, key)
            kind = table.get("kind")
            if kind is None:
                raise self.fail(f"{key}.kind", f"required; one of: {', '.join(SOURCE_KINDS)}")
            if kind not in SOURCE_KINDS:
                raise self.fail(
                    f"{key}.kind",
                    f'"{kind}" is not a source kind; expected one of: {", ".join(SOURCE_KINDS)}',
                )
            spec = {**SOURCE_COMMON, **SOURCE_KINDS[kind]}
            self.check_keys(table, spec, key)
            values = self.fill(table, spec, key)
            if values["name"] in seen:
                raise self.fail(
                    f"{key}.name", f'"{values["name"]}" is used by another source; names must be unique'
                )
            seen.add(values["name"])
            if kind == "page":
                self.check_selectors(values, key)
            common = {k: values.pop(k) for k in list(values) if k in SOURCE_COMMON}
            out.append(
                SourceConfig(
                    name=common["name"],
                    kind=common["kind"],
                    url=common["url"],
                    schedule=common["schedule"],
                    timezone=common["timezone"],
                    enabled=common["enabled"],
                    keep_params=tuple(common["keep_params"]),
                    options={"max_response_size": common["max_response_size"], **values},
                )
            )
        return out

    def fill(self, table: Mapping[str, Any], spec: dict[str, tuple[str, Any]], key: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for k, (kind, default) in spec.items():
            if k in table:
                values[k] = self.read(kind, table[k], f"{key}.{k}")
            elif default is REQUIRED:
                raise self.fail(f"{key}.{k}", "required")
            else:
                values[k] = default
        return values

    def check_selectors(self, values: dict[str, Any], key: str) -> None:
        from parsel import Selector

        probe = Selector(text="<html><body></body></html>")
        for k in ("item", "link", "title", "date", "next"):
            expr = values.get(k)
            if expr is None:
                continue
            try:
                if values["selector_type"] == "xpath":
                    probe.xpath(expr)
                else:
                    probe.css(expr)
            except Exception as exc:  # parsel raises several error types for bad expressions
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                kind = "CSS" if values["selector_type"] == "css" else "XPath"
                raise self.fail(
                    f"{key}.{k}",
                    f'"{expr}" is not a valid {kind} selector in source "{values["name"]}" ({reason})',
                ) from None
        if values.get("date_format") and not values.get("date"):
            raise self.fail(f"{key}.date_format", "given without a date selector")
        if values["max_pages"] < 1:
            raise self.fail(f"{key}.max_pages", "expected an integer of at least 1")

    def channels(self, value: Any) -> dict[str, ChannelConfig]:
        table = self.table(value, "channels")
        out: dict[str, ChannelConfig] = {}
        for name, item in table.items():
            key = f"channels.{name}"
            if not NAME_RE.match(name):
                raise self.fail(key, "channel names must match [a-z0-9-]+")
            body = self.table(item, key)
            ctype = body.get("type")
            if ctype is None:
                raise self.fail(f"{key}.type", f"required; one of: {', '.join(CHANNEL_TYPES)}")
            if ctype not in CHANNEL_TYPES:
                raise self.fail(
                    f"{key}.type",
                    f'"{ctype}" is not a channel type; expected one of: {", ".join(CHANNEL_TYPES)}',
                )
            spec = {**CHANNEL_COMMON, **CHANNEL_TYPES[ctype]}
            self.check_keys(body, spec, key)
            values = self.fill(body, spec, key)
            values.pop("type")
            if ctype == "email" and not values["to"]:
                raise self.fail(f"{key}.to", "expected at least one address")
            out[name] = ChannelConfig(name=name, type=ctype, options=values)
        return out

    def rules(self, value: Any, source_names: set[str], channel_names: set[str]) -> list[RuleConfig]:
        if not isinstance(value, list):
            raise self.fail("rules", "expected an array of tables ([[rules]])")
        spec: dict[str, tuple[str, Any]] = {
            "name": ("name", REQUIRED),
            "keywords": ("list", []),
            "regex": ("str", None),
            "exclude": ("list", []),
            "fields": ("list", list(RULE_FIELDS)),
            "sources": ("list", []),
            "on": ("list", ["new"]),
            "notify": ("list", []),
            "windows": ("list", list(RANKING_WINDOWS)),
            "max_rank": ("int", None),
        }
        out: list[RuleConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = f"rules[{i}]"
            table = self.table(item, key)
            self.check_keys(table, spec, key)
            v = self.fill(table, spec, key)
            if v["name"] in seen:
                raise self.fail(f"{key}.name", f'"{v["name"]}" is used by another rule; names must be unique')
            seen.add(v["name"])
            self.check_members(v["fields"], RULE_FIELDS, f"{key}.fields")
            self.check_members(v["on"], RULE_EVENTS, f"{key}.on")
            self.check_members(v["windows"], RANKING_WINDOWS, f"{key}.windows")
            for s in v["sources"]:
                if s not in source_names:
                    raise self.fail(
                        f"{key}.sources", f'"{s}" is not a configured source{_known(source_names)}'
                    )
            for c in v["notify"]:
                if c not in channel_names:
                    raise self.fail(
                        f"{key}.notify", f'"{c}" is not a configured channel{_known(channel_names)}'
                    )
            if v["regex"] is not None:
                try:
                    re.compile(v["regex"])
                except re.error as exc:
                    raise self.fail(
                        f"{key}.regex", f'"{v["regex"]}" is not a valid regular expression ({exc})'
                    ) from None
            if not v["keywords"] and v["regex"] is None and set(v["on"]) != {"ranking"}:
                raise self.fail(
                    f"{key}.keywords",
                    'a rule needs keywords or a regex (only on = ["ranking"] may omit both)',
                )
            out.append(
                RuleConfig(
                    name=v["name"],
                    keywords=tuple(v["keywords"]),
                    regex=v["regex"],
                    exclude=tuple(v["exclude"]),
                    fields=tuple(v["fields"]),
                    sources=tuple(v["sources"]),
                    on=tuple(v["on"]),
                    notify=tuple(v["notify"]),
                    windows=tuple(v["windows"]),
                    max_rank=v["max_rank"],
                )
            )
        return out

    def check_members(self, values: list[str], allowed: tuple[str, ...], key: str) -> None:
        for x in values:
            if x not in allowed:
                raise self.fail(key, f'"{x}" is not one of: {", ".join(allowed)}')


_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _looks_secret(kind: str, text: str) -> bool:
    """Whether a value written in the TOML itself holds a secret: a signing secret always; a
    URL when it carries a password, a query string or a token-like path segment (Slack's
    /services/T…/B…/XXXX). A plain receiver URL on the local network is no secret."""
    if kind == "secret":
        return True
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
    except ValueError:
        return True
    return bool(parts.password or parts.query or any(_TOKEN.fullmatch(p) for p in parts.path.split("/")))


def _known(names: Any) -> str:
    names = sorted(names)
    return f" (configured: {', '.join(names)})" if names else " (none configured)"


def _type_name(value: Any) -> str:
    names: dict[type, str] = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
