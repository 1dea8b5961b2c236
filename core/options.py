"""How a plug-in (a source kind, a channel type) declares the keys it takes: each key one
``opt(...)`` field of a frozen options class, with its type, default, validation, secret
flag and one-line help. The loader (core/config_loader.py), `defwatch check`, and the
option tables of docs/sources.md and docs/alerts.md (core/option_tables.py) read these
declarations; the plug-ins read their options as typed attributes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core.model import WINDOWS


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# The kinds of value a key may take (core/config_loader.py reads each): str, name, url,
# smtp-url, cron, timezone, duration, size, selector, int, bool, bool-or-list, list,
# selectors (a table) and choice:a,b (one of the words listed).


@dataclass(frozen=True)
class Option:
    """One key of defwatch.toml as a plug-in declares it."""

    key: str  # as written in defwatch.toml
    type: str
    default: Any  # REQUIRED: the key must be given
    help: str  # one line, for the docs' tables
    secret: bool = False  # never shown in an error, warned about when written in the file
    minimum: int | None = None  # an integer of at least this
    at_least_one: str | None = None  # a list that may not be empty: what its items are
    shown_default: str | None = None  # how the docs show a default that is not a plain value
    attr: str = ""  # the attribute it is read as, when not the key ("from" -> sender)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def name(self) -> str:
        return self.attr or self.key


def opt(
    type: str,
    default: Any,
    help: str,
    *,
    secret: bool = False,
    minimum: int | None = None,
    at_least_one: str | None = None,
    shown_default: str | None = None,
    key: str | None = None,
) -> Any:
    """A field of an options class, declared as an :class:`Option` (key: the attribute's
    name unless given)."""
    meta = {
        "option": {
            "type": type,
            "default": default,
            "help": help,
            "secret": secret,
            "minimum": minimum,
            "at_least_one": at_least_one,
            "shown_default": shown_default,
            "key": key,
        }
    }
    if default is REQUIRED:
        return dataclasses.field(metadata=meta, repr=not secret)
    if isinstance(default, list | dict):
        raise TypeError("an option's default must be immutable (a tuple, not a list)")
    return dataclasses.field(default=default, metadata=meta, repr=not secret)


class OptionProblem(Exception):
    """A value that fails a check of several keys together: the key and the one line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Options:
    """The base of every options class: its fields are its keys, in the order declared."""

    @classmethod
    def declared(cls) -> tuple[Option, ...]:
        out = []
        for f in dataclasses.fields(cls):
            meta = f.metadata.get("option")
            if meta is None:
                continue
            key = meta["key"] or f.name
            out.append(
                Option(
                    key=key,
                    type=meta["type"],
                    default=meta["default"],
                    help=meta["help"],
                    secret=meta["secret"],
                    minimum=meta["minimum"],
                    at_least_one=meta["at_least_one"],
                    shown_default=meta["shown_default"],
                    attr="" if key == f.name else f.name,
                )
            )
        return tuple(out)

    def check(self, name: str) -> None:
        """Checks of several keys together, once each key is valid on its own; raise
        :class:`OptionProblem`. ``name``: the source's or channel's name."""


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
