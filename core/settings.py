"""The configuration's types: typed, immutable settings (one frozen dataclass per section),
the error every configuration mistake raises, and the units durations and sizes are
written in. core/config.py loads them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from core.channels import ChannelOptions
from core.model import WINDOWS
from core.sources import DEFAULT_TIMEZONE, SourceOptions

DEFAULT_CONFIG_NAME = "defwatch.toml"
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
    scrapyd: tuple[str, ...] = ()  # Scrapyd nodes to run the crawls on (none: local processes)
    # Ask the cycle's feeds for changes before a crawl process starts (crawler.precheck)
    precheck: bool = True


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
    # The keys of its kind (core/sources/), read as attributes: source.options.max_items.
    options: SourceOptions = field(default_factory=SourceOptions)

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
    # The keys of its type (core/channels/), read as attributes: channel.options.timeout.
    options: ChannelOptions = field(default_factory=ChannelOptions, repr=False)

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
