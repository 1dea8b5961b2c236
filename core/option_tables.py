"""The option tables of docs/sources.md and docs/alerts.md, made from the declarations of
core/sources/ and core/channels/. Each table sits between ``<!-- options: NAME -->`` and
``<!-- end options -->``; ``make docs`` (``python -m core.option_tables``) rewrites them,
and tests/test_option_tables.py fails when a doc differs from what this makes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from core.channels import TYPES, ChannelOptions
from core.options import Option, Options
from core.settings import format_size
from core.sources import KINDS, SOURCE_KEYS, SourceOptions

DOCS = ("docs/sources.md", "docs/alerts.md")
BLOCK = re.compile(r"(<!-- options: ([a-z -]+) -->\n)(.*?)(<!-- end options -->)", re.DOTALL)

_VALUES = {
    "str": "string",
    "path": "file path",
    "name": "name (`[a-z0-9-]+`)",
    "url": "http(s) URL",
    "smtp-url": "`smtp://` or `smtps://` URL",
    "cron": "cron expression",
    "timezone": "time zone",
    "duration": "duration",
    "size": "size",
    "selector": "selector",
    "selectors": "table",
    "int": "integer",
    "bool": "`true` or `false`",
    "list": "list of strings",
}


def value_text(o: Option) -> str:
    if o.type.startswith("choice:"):
        text = " or ".join(f'`"{c}"`' for c in o.type.split(":", 1)[1].split(","))
    else:
        text = _VALUES[o.type]
    if o.minimum is not None:
        text += f", at least {o.minimum}"
    if o.at_least_one:
        text += ", at least one"
    if o.secret:
        text += ", secret"
    return text


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def default_text(o: Option) -> str:
    d = o.default
    if o.required:
        return "required"
    if o.shown_default is not None:
        return o.shown_default
    if d is None:
        return "none"
    if isinstance(d, bool):
        return f"`{str(d).lower()}`"
    if o.type == "duration":
        return f'`"{_duration(d)}"`'
    if o.type == "size":
        return f'`"{format_size(d).replace(" ", "")}"`'
    if isinstance(d, tuple):
        return "`[" + ", ".join(f'"{v}"' for v in d) + "]`"
    if isinstance(d, str):
        return f'`"{d}"`'
    return f"`{d}`"


def table(options: tuple[Option, ...]) -> str:
    rows = ["| key | value | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [
        f"| `{o.key}` | {value_text(o)} | {default_text(o)} | {o.help.replace('|', '&#124;')} |"
        for o in options
    ]
    return "\n".join(rows) + "\n"


def own(cls: type[Options], base: type[Options]) -> tuple[Option, ...]:
    """The keys a kind or type declares beyond (or differently from) its base's."""
    inherited = set(base.declared())
    return tuple(o for o in cls.declared() if o not in inherited)


def tables() -> dict[str, str]:
    """Every table by the name its markers give it."""
    out = {"sources": table((*SOURCE_KEYS, *SourceOptions.declared()))}
    out.update({f"source {k.kind}": table(own(k, SourceOptions)) for k in KINDS})
    out["channels"] = table(ChannelOptions.declared())
    out.update({f"channel {t.type}": table(own(t, ChannelOptions)) for t in TYPES})
    return out


def render(text: str, made: dict[str, str] | None = None) -> str:
    """The doc with every table between markers made anew; an unknown name is an error."""
    made = tables() if made is None else made

    def fill(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in made:
            raise KeyError(f"<!-- options: {name} -->: no such table; known: {', '.join(made)}")
        return f"{m.group(1)}{made[name]}{m.group(4)}"

    return BLOCK.sub(fill, text)


def main(root: Path = Path(".")) -> int:
    made = tables()
    for doc in DOCS:
        path = root / doc
        text = path.read_text(encoding="utf-8")
        new = render(text, made)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"{doc}: option tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
