"""Which stories a feed may show, and in what order: every story's place in the
newest-first order, its source, and its group (an origin and its copies, ``story_links``).
feeds.build chooses each feed's entries from it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

__all__ = ["Groups", "StoryIndex"]


class Groups:
    """Which stories are copies, and of what (``story_links``): groups are one level deep,
    an origin and its copies."""

    def __init__(self, links: Iterable[tuple[int, int, datetime]]) -> None:
        self.origin: dict[int, int] = {}
        self.copies: dict[int, list[int]] = defaultdict(list)
        self.linked_at: dict[int, datetime] = {}
        for copy, origin, at in links:
            self.origin[copy] = origin
            self.copies[origin].append(copy)
            self.linked_at[copy] = at

    def group_of(self, story: int) -> int:
        return self.origin.get(story, story)

    def members(self, origin: int) -> list[int]:
        return [origin, *self.copies.get(origin, ())]


class StoryIndex(Groups):
    """Every story's place in the newest-first order, its source and its group: light
    enough for 100k stories, and all the feeds need to choose their entries."""

    def __init__(self, order: Sequence[tuple[int, str]], links: Iterable[tuple[int, int, datetime]]) -> None:
        super().__init__(links)
        self.order = [i for i, _ in order]
        self.position = {i: n for n, i in enumerate(self.order)}
        self.source = dict(order)
        self.with_copy_from: dict[str, set[int]] = defaultdict(set)  # source -> origins
        for copy, origin in self.origin.items():
            if copy in self.source:
                self.with_copy_from[self.source[copy]].add(origin)

    def newest(self, limit: int, source: str | None = None) -> list[int]:
        """The newest ``limit`` groups (their origins): all of them, or those with a story
        from ``source``."""
        out: list[int] = []
        if limit <= 0:
            return out
        linked = self.with_copy_from.get(source, set()) if source is not None else set()
        for sid in self.order:
            if sid in self.origin:
                continue
            if source is None or self.source[sid] == source or sid in linked:
                out.append(sid)
                if len(out) >= limit:
                    break
        return out
