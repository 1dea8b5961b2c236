"""``defwatch rules test NAME [--since 7d] [--backfill]``: the stored stories a rule would alert
on, with the words it matched (a dry run for writing rules: nothing is queued); with
``--backfill`` their alerts are queued explicitly (once each: the outbox's ids make a second
backfill a no-op), to be delivered by the next ``alerts`` or daemon pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING

from alerts.message import JST
from alerts.outbox import Outbox
from core.model import Story
from core.rules import RuleSet

if TYPE_CHECKING:
    from core.config import Config

__all__ = ["test_rule"]


def _duration(text: str) -> float:
    from core.config import parse_duration

    return float(parse_duration(text))


def test_rule(config: Config, name: str, since: str, backfill: bool, out: IO[str]) -> int:
    from sqlalchemy import func, select

    from core.errors import CommandError
    from store import Store
    from store import schema as t

    rules = {r.name: r for r in config.rules}
    if name not in rules:
        known = ", ".join(sorted(rules)) or "none"
        raise CommandError(f"rules test: no rule named {name!r} (configured: {known})")
    try:
        seconds = _duration(since)
    except ValueError as exc:
        raise CommandError(f"rules test: --since {since}: {exc}") from None
    after = datetime.now(UTC) - timedelta(seconds=seconds)
    ruleset = RuleSet.from_config((rules[name],))
    outbox = Outbox(ruleset)
    matched: list[tuple[Story, list[str]]] = []
    queued = 0
    store = Store.open(config.store.url)
    try:
        when = func.coalesce(t.stories.c.published, t.stories.c.fetched)
        with store.engine.connect() as conn:
            rows = conn.execute(select(t.stories).where(when >= after).order_by(when.desc(), t.stories.c.id))
            for row in rows.mappings():
                story = Story.from_row(dict(row))
                found = ruleset.match(story, "new")
                if found:
                    matched.append((story, list(found[0].matched)))
        if backfill:
            for story, _ in matched:
                with store.transaction() as conn:
                    queued += len(outbox.enqueue_story(conn, story, "new"))
    finally:
        store.close()
    for story, words in matched:
        at = story.published or story.fetched
        stamp = at.astimezone(JST).strftime("%Y-%m-%d %H:%M") if at else "                "
        print(f"{stamp}  {story.source:<10}  {story.title}  [{', '.join(words)}]", file=out)
        print(f"{'':18}{story.url}", file=out)
    n = len(matched)
    tail = f"{n} stor{'y' if n == 1 else 'ies'} since {since} match rule {name}"
    if backfill:
        tail += f"; {queued} deliver{'y' if queued == 1 else 'ies'} queued"
        tail += " (the others were queued before)" if queued < n * len(rules[name].notify) else ""
    elif n:
        tail += " (dry run: nothing queued; --backfill queues their alerts)"
    print(tail, file=out)
    return 0
