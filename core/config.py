"""defwatch.toml: discovery, ${NAME} interpolation from .env or the environment, and
validation of every section into typed, immutable settings (docs/interface.md "Configuration").

Every error is one line naming the file, the key path and what was expected. Values that
came from the environment are secrets and never appear in an error or a repr.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from core.config_loader import _Loader
from core.options import RANKING_WINDOWS, REQUIRED, RULE_EVENTS, RULE_FIELDS, default_sources
from core.settings import (
    DEFAULT_CONFIG_NAME,
    DEFAULT_TIMEZONE,
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
    format_size,
    parse_duration,
    parse_size,
)

log = logging.getLogger(__name__)

__all__ = [
    "AlertsConfig",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "CrawlConfig",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_TIMEZONE",
    "FeedsConfig",
    "NAME_RE",
    "RANKING_WINDOWS",
    "REQUIRED",
    "RULE_EVENTS",
    "RULE_FIELDS",
    "RuleConfig",
    "SchedulerConfig",
    "SourceConfig",
    "StoreConfig",
    "default_sources",
    "find_config",
    "format_size",
    "load",
    "load_config",
    "load_dotenv_file",
    "parse_duration",
    "parse_size",
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
