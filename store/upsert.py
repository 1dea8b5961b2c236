"""Insert-or-update and insert-unless-there in one statement, with the engine's own
``ON CONFLICT``: two processes writing the same key at once (two Scrapyd nodes crawling one
source, a crawl beside the daemon) would otherwise both find no row and both insert, and on
PostgreSQL the second fails on the primary key. The dialect is imported on first use, so a
store on SQLite never imports SQLAlchemy's PostgreSQL dialect (25 ms a process)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

ENGINES = ("sqlite", "postgresql")


@cache
def _insert(dialect: str) -> Any:
    return import_module(f"sqlalchemy.dialects.{dialect}").insert


@cache
def insert_unless_there(dialect: str, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` on the primary key (None on other engines): its
    rowcount says whether the row was new."""
    if dialect not in ENGINES:
        return None
    return _insert(dialect)(table).on_conflict_do_nothing(index_elements=list(table.primary_key))


def upsert(conn: Connection, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Make the row of ``key`` (its primary key's columns) hold ``values``, whether or not it
    was there."""
    if conn.dialect.name in ENGINES:
        statement = _insert(conn.dialect.name)(table).values(**key, **values)
        conn.execute(
            statement.on_conflict_do_update(index_elements=list(table.primary_key), set_=dict(values))
        )
        return
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(select(*table.primary_key).where(*where)).first() is None:
        conn.execute(insert(table).values(**key, **values))
    else:
        conn.execute(update(table).where(*where).values(**values))
