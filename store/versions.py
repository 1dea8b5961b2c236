"""The schema's version: the migration scripts' heads and whether a database is at them
(read from the scripts' files without importing alembic when it can)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    """The newest migration of every branch. Areas of the store (links, outbox, rankings)
    may add their migrations on separate branches from 0002; all heads are applied."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(cfg).get_heads())


_REVISION = re.compile(r"^(down_)?revision\b[^=\n]*=\s*(.+)$", re.M)


def _script_heads() -> set[str] | None:
    """The heads of the migration scripts, read from their files without importing alembic
    (half a second a process); None when a file says it in a way this does not read."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        found = dict((bool(m[1]), m[2].strip()) for m in _REVISION.finditer(path.read_text("utf-8")))
        rev, down = found.get(False), found.get(True)
        if rev is None or down is None or not re.fullmatch(r"[\"'][\w-]+[\"']", rev):
            return None
        revisions.add(rev[1:-1])
        if down != "None":
            names = re.findall(r"[\"']([\w-]+)[\"']", down)
            if not names:
                return None
            parents.update(names)
    return revisions - parents or None


def at_heads(engine: Engine) -> bool:
    """Whether the database is already at every head (nothing to migrate), cheaply."""
    heads = _script_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            current = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return False
    return current == heads
