"""Validation of defwatch.toml's sections into the typed settings of core/settings.py,
against the declarations of core/options.py: every error one line naming the file, the
key path and what was expected; values from the environment are secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.channels import channel_types
from core.cron import cron_trigger
from core.logs import register_secret
from core.options import (
    RANKING_WINDOWS,
    REQUIRED,
    RULE_EVENTS,
    RULE_FIELDS,
    Option,
    OptionProblem,
    Options,
    default_sources,
)
from core.settings import (
    _VAR_RE,
    NAME_RE,
    AlertsConfig,
    ChannelConfig,
    Config,
    ConfigError,
    CrawlConfig,
    FeedsConfig,
    RuleConfig,
    SchedulerConfig,
    SourceConfig,
    StoreConfig,
    parse_duration,
    parse_size,
)
from core.sources import DEFAULT_TIMEZONE, SOURCE_KEYS, source_kinds

log = logging.getLogger("core.config")  # the name its lines have always carried


@lru_cache(maxsize=1024)
def _is_cron(text: str) -> bool:
    """Whether APScheduler takes ``text`` as a schedule; once per distinct text (a thousand
    sources share a few schedules: building a trigger for each was half of loading them)."""
    try:
        cron_trigger(text, DEFAULT_TIMEZONE)
    except ValueError:
        return False
    return True


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

    def read(self, kind: str, value: Any, key: str, secret: bool = False) -> Any:
        """Validate one value of the given kind (core/options.py lists them) and return it
        converted. A secret's value is never shown."""
        if kind in (
            "str",
            "path",
            "name",
            "url",
            "smtp-url",
            "cron",
            "timezone",
            "duration",
            "size",
            "selector",
        ) or kind.startswith("choice:"):
            if not isinstance(value, str):
                raise self.fail(key, f"expected a string, got {_type_name(value)}")
            text, from_env = self.interpolate(value, key)
            shown = "(value not shown)" if (from_env or secret) else f'"{value}"'
            if secret and not from_env and _looks_secret(kind, text):
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
        elif kind == "url":
            if not re.match(r"^https?://[^/\s]+", text):
                raise self.fail(key, f"{shown} is not an http(s) URL")
        elif kind == "smtp-url":
            if not re.match(r"^smtps?://[^/\s]+", text):
                raise self.fail(key, f"{shown} is not an smtp:// or smtps:// URL")
        elif kind == "cron":
            if not _is_cron(text):
                raise self.fail(key, f"{shown} is not a valid cron expression")
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
                "scrapyd": ("list", ()),
                "precheck": ("bool", True),
            },
        )
        for node in crawl["scrapyd"]:
            if not re.match(r"^https?://[^/\s]+", node):
                raise self.fail("crawl.scrapyd", f'"{node}" is not an http(s) URL of a Scrapyd node')
        crawl["scrapyd"] = tuple(crawl["scrapyd"])
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
        kinds = source_kinds()
        out: list[SourceConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = f"sources[{i}]"
            table = self.table(item, key)
            kind = table.get("kind")
            if kind is None:
                raise self.fail(f"{key}.kind", f"required; one of: {', '.join(kinds)}")
            if kind not in kinds:
                raise self.fail(
                    f"{key}.kind",
                    f'"{kind}" is not a source kind; expected one of: {", ".join(kinds)}',
                )
            declared = kinds[kind].declared()
            self.check_keys(table, [o.key for o in (*SOURCE_KEYS, *declared)], key)
            common = self.fill(table, SOURCE_KEYS, key)
            options = self.fill(table, declared, key)
            if common["name"] in seen:
                raise self.fail(
                    f"{key}.name", f'"{common["name"]}" is used by another source; names must be unique'
                )
            seen.add(common["name"])
            out.append(
                SourceConfig(
                    name=common["name"],
                    kind=common["kind"],
                    url=common["url"],
                    schedule=common["schedule"],
                    timezone=common["timezone"],
                    enabled=common["enabled"],
                    keep_params=tuple(common["keep_params"]),
                    options=self.options(kinds[kind], options, common["name"], key),
                )
            )
        return out

    def fill(self, table: Mapping[str, Any], declared: tuple[Option, ...], key: str) -> dict[str, Any]:
        """The declared keys' values, read from the table or their defaults, by attribute."""
        values: dict[str, Any] = {}
        for o in declared:
            where = f"{key}.{o.key}"
            if o.key not in table:
                if o.required:
                    raise self.fail(where, "required")
                values[o.name] = o.default
                continue
            value = self.read(o.type, table[o.key], where, secret=o.secret)
            if isinstance(value, list):
                value = tuple(value)
                if o.at_least_one and not value:
                    raise self.fail(where, f"expected at least one {o.at_least_one}")
            if o.minimum is not None and value < o.minimum:
                raise self.fail(where, f"expected an integer of at least {o.minimum}")
            values[o.name] = value
        return values

    def options(self, cls: type[Any], values: dict[str, Any], name: str, key: str) -> Any:
        """The options object of a source kind or channel type, checked as a whole."""
        options: Options = cls(**values)
        try:
            options.check(name)
        except OptionProblem as problem:
            raise self.fail(f"{key}.{problem.key}", problem.message) from None
        return options

    def channels(self, value: Any) -> dict[str, ChannelConfig]:
        table = self.table(value, "channels")
        types = channel_types()
        out: dict[str, ChannelConfig] = {}
        for name, item in table.items():
            key = f"channels.{name}"
            if not NAME_RE.match(name):
                raise self.fail(key, "channel names must match [a-z0-9-]+")
            body = self.table(item, key)
            ctype = body.get("type")
            if ctype is None:
                raise self.fail(f"{key}.type", f"required; one of: {', '.join(types)}")
            if ctype not in types:
                raise self.fail(
                    f"{key}.type",
                    f'"{ctype}" is not a channel type; expected one of: {", ".join(types)}',
                )
            declared = types[ctype].declared()
            self.check_keys(body, ["type", *(o.key for o in declared)], key)
            options = self.options(types[ctype], self.fill(body, declared, key), name, key)
            out[name] = ChannelConfig(name=name, type=ctype, options=options)
        return out

    def rules(self, value: Any, source_names: set[str], channel_names: set[str]) -> list[RuleConfig]:
        if not isinstance(value, list):
            raise self.fail("rules", "expected an array of tables ([[rules]])")
        spec = tuple(
            Option(k, kind, default, "")
            for k, kind, default in (
                ("name", "name", REQUIRED),
                ("keywords", "list", ()),
                ("regex", "str", None),
                ("exclude", "list", ()),
                ("fields", "list", RULE_FIELDS),
                ("sources", "list", ()),
                ("on", "list", ("new",)),
                ("notify", "list", ()),
                ("windows", "list", RANKING_WINDOWS),
                ("max_rank", "int", None),
            )
        )
        out: list[RuleConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = f"rules[{i}]"
            table = self.table(item, key)
            self.check_keys(table, [o.key for o in spec], key)
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
    if kind == "str":  # a signing secret
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
