"""From matches to deliveries, inside the transaction that stored the story (or recorded the
ranking movement): what commits with the story is exactly what will be sent.

A delivery's id is a hash of what it is about, so storing the same thing twice (a re-crawl,
a restart) finds the id already there and adds nothing:

- a story's first alert per rule and channel: (story url_key, rule, channel). Every story of
  a group of copies (story_links) is looked at first: if any of them was alerted for that
  rule and channel, a copy adds nothing, whichever of them arrived first;
- an alert on a revision (rules with ``revised`` in ``on``): (url_key, content hash, rule,
  channel), once per version of the text;
- a ranking movement: (movement id, rule, channel).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alerts.message import ranking_payload, story_payload
from core.rules import RuleMatch, RuleSet
from store import links
from store import outbox as db
from store.urls import url_key

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.config import Config, RuleConfig
    from core.model import Movement, Story
    from store import SaveResult

__all__ = ["Outbox", "delivery_id", "enqueue_ranking_event"]

log = logging.getLogger(__name__)


def delivery_id(kind: str, *parts: object) -> str:
    """A stable id: 64 hex characters of SHA-256 over what the delivery is about."""
    text = "\x1f".join([kind, *(str(p) for p in parts)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """Turns stored stories and ranking movements into pending deliveries."""

    def __init__(self, rules: RuleSet, clock: Callable[[], datetime] = _now) -> None:
        self.rules = rules
        self.clock = clock

    @classmethod
    def from_config(cls, config: Config) -> Outbox:
        return cls(_ruleset(config.rules))

    # -- stories -----------------------------------------------------------------------------
    def on_story_saved(self, conn: Connection, story: Story, result: SaveResult, alone: bool = False) -> None:
        """The store's save hook: runs for new, revised and completed stories, after link
        detection (``alone``: it found the new story in no group)."""
        if result.status in ("new", "revised", "completed"):
            self.enqueue_story(conn, story, result.status, alone=alone and result.status == "new")

    def enqueue_story(self, conn: Connection, story: Story, status: str, alone: bool = False) -> list[str]:
        """Add the deliveries a stored story calls for; returns the ids added. ``alone``: a
        story stored just now in no group of copies, so none of its group was alerted (two
        queries less a story in a large first crawl)."""
        first = self.rules.match(story, "new")
        revised = self.rules.match(story, "revised") if status == "revised" else []
        if not first and not revised:
            return []
        story_id = story.id
        group = [story_id] if alone else links.group_ids(conn, story_id)
        also = links.also_urls(conn, story_id) if len(group) > 1 else []
        sources = db.sources_of(conn, also) if also else {}
        now = self.clock()
        added: list[str] = []
        announced: set[tuple[str, str]] = set()

        def queue(did: str, match: RuleMatch, channel: str, event: str) -> bool:
            payload = story_payload(match.rule, match.matched, story, also, event, sources)
            queued = db.insert_delivery(
                conn,
                id=did,
                rule=match.rule,
                channel=channel,
                kind="story",
                payload=payload,
                now=now,
                story_id=story_id,
            )
            if queued:
                added.append(did)
            return bool(queued)

        # First alerts. A story stored title-only and later read in full arrives as
        # "completed": its first match is still a first alert, so rules on "new" hear of it
        # (and rules on "revised" do not: nothing was revised).
        for match in first:
            for channel in self.rules.rule(match.rule).notify:
                existing = None if alone else db.group_delivery(conn, group, match.rule, channel)
                if existing is not None:
                    db.add_also(conn, existing, story.link or story.url)
                    continue
                if queue(delivery_id("story", story.url_key, match.rule, channel), match, channel, "new"):
                    announced.add((match.rule, channel))
        # Revisions: once per version, and not for a copy (its origin's revisions count).
        if revised and not links.is_copy(conn, story_id):
            for match in revised:
                for channel in self.rules.rule(match.rule).notify:
                    if (match.rule, channel) in announced:
                        continue  # its first alert, just added, already carries this text
                    did = delivery_id("revised", story.url_key, story.content_hash, match.rule, channel)
                    queue(did, match, channel, "revised")
        if added:  # a debug line (-vv): -v is one line a crawl, and a first crawl may queue thousands
            log.debug(
                "story %s: %d deliver%s queued", story_id, len(added), "y" if len(added) == 1 else "ies"
            )
        return added

    # -- ranking movements ------------------------------------------------------------------------
    def enqueue_ranking(self, conn: Connection, movement: Movement) -> list[str]:
        """Add the deliveries one ranking movement calls for; returns the ids added."""
        matches = self.rules.match_ranking(movement)
        if not matches:
            return []
        story_id = links.find_story_id(conn, [url_key(movement.url)])
        story = None
        also: list[str] = []
        if story_id is not None:
            story = db.story_row(conn, story_id)
            also = links.also_urls(conn, story_id)
        sources = db.sources_of(conn, also) if also else {}
        now = self.clock()
        added: list[str] = []
        for match in matches:
            for channel in self.rules.rule(match.rule).notify:
                did = delivery_id("ranking", movement.id, match.rule, channel)
                payload = ranking_payload(match.rule, match.matched, movement, story, also, sources)
                if db.insert_delivery(
                    conn,
                    id=did,
                    rule=match.rule,
                    channel=channel,
                    kind="ranking",
                    payload=payload,
                    now=now,
                    story_id=story_id,
                ):
                    added.append(did)
        return added


# Rankings call in once per movement with the configuration; compile its rules once.
_compiled: tuple[Any, RuleSet] | None = None


def _ruleset(rules: tuple[RuleConfig, ...]) -> RuleSet:
    global _compiled
    if _compiled is None or _compiled[0] is not rules:
        _compiled = (rules, RuleSet.from_config(rules))
    return _compiled[1]


def enqueue_ranking_event(conn: Connection, config: Config, movement: Movement) -> list[str]:
    """One movement, inside the snapshot transaction (the ingest step uses an Outbox)."""
    return Outbox(_ruleset(config.rules)).enqueue_ranking(conn, movement)
