"""One module per ``defwatch`` command, as scrapy/commands has: each declares ``HELP`` (its
line in ``defwatch --help``), ``add_arguments(parser)`` and ``run(args, config) -> int``
(the exit status). A command's ``run`` stays a few lines that call into the package doing
the work, imported inside ``run`` so that ``defwatch --help`` stays quick.

Adding a command: one module here, one line in ``COMMANDS`` (its place is its place in
``defwatch --help``).
"""

from __future__ import annotations

from types import ModuleType

from scheduler.commands import (
    alerts,
    check,
    crawl,
    demo,
    feeds,
    inspect,
    ranking,
    rules,
    run,
    serve,
    status,
    stories,
)

COMMANDS: dict[str, ModuleType] = {
    "crawl": crawl,
    "run": run,
    "feeds": feeds,
    "alerts": alerts,
    "rules": rules,
    "ranking": ranking,
    "status": status,
    "check": check,
    "serve": serve,
    "stories": stories,
    "inspect": inspect,
    "demo": demo,
}
