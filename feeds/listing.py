"""Story lists filtered by a rule, newest first (the web page's ``?rule=`` and ``defwatch
stories list --rule``). What a rule matches is decided in Python (core.rules, through
RuleMatcher), so the stories are read newest first in batches until enough matched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core.model import Story
from feeds.rules import RuleMatcher
from store import browse

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["rule_ids"]


def rule_ids(
    conn: Connection,
    matcher: RuleMatcher,
    rule: str,
    wanted: int,
    *,
    sources: Sequence[str] = (),
    since: datetime | None = None,
) -> list[int]:
    """The ids of the newest ``wanted`` stories ``rule`` matches (of ``sources``; published,
    else fetched, at or after ``since``), newest first."""
    found: list[int] = []
    for batch in browse.texts_newest_first(conn, sources=sources, since=since):
        candidates = matcher.candidates(batch, [rule]).get(rule, [])
        rows = browse.stories_by_id(conn, candidates, full=True)
        found.extend(i for i in candidates if i in rows and rule in matcher.matches(Story.from_row(rows[i])))
        if len(found) >= wanted:
            break
    return found[:wanted]
