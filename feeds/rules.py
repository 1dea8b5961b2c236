"""Which stories a rule's feed shows. core.rules decides what a rule matches; RuleMatcher
spares it the stories that cannot match (one keyword automaton, and a substring every match
of a regex must contain, run over the stored normalized text), and rule_groups finds each
rule's newest groups of stories with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import ahocorasick

from core.rules import RuleSet
from core.text import normalize
from store import feeds as sql

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.config import RuleConfig
    from core.model import Movement, Story

__all__ = ["GroupIndex", "RuleMatcher", "required_literal", "rule_groups"]

# Anchors and word boundaries in a rule's regex (see RuleMatcher).
_READS_EDGES = re.compile(r"(?<!\\)[$^]|\\[AZbB]")


class GroupIndex(Protocol):
    """What rule_groups needs of the stories' order and groups (feeds.story_index.StoryIndex is
    one): each story's place, newest first, and the origin of its group."""

    position: dict[int, int]

    def group_of(self, story: int) -> int: ...


class RuleMatcher:
    """core.rules decides what a rule matches; this only spares it the stories that
    cannot match. Every keyword, normalized as the rules normalize it, sits in one
    automaton run over the stored normalized text (title, summary and body in one); a
    regex is tried there after a plain substring every match of it must contain. Only
    what passes is loaded and given to RuleSet.match."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self.ruleset = RuleSet.from_config(rules)
        self.story_rules = [r.name for r in rules if {"new", "revised"} & set(r.on)]
        self.ranking_rules = [r.name for r in rules if "ranking" in r.on]
        # A feed shows what a rule matches whether the rule alerts on new or on revised
        # stories: ask for both events when some rule only takes revisions.
        only_revised = any("new" not in r.on and "revised" in r.on for r in rules)
        self.events = ("new", "revised") if only_revised else ("new",)
        self.bit = {name: 1 << i for i, name in enumerate(self.story_rules)}
        self._always = 0  # rules every story is a candidate for
        self._regexes: list[tuple[int, str | None, re.Pattern[str] | None]] = []
        words: dict[str, int] = {}
        for r in rules:
            if r.name not in self.bit:
                continue
            bit = self.bit[r.name]
            for keyword in r.keywords:
                norm = normalize(keyword)
                if norm:
                    words[norm] = words.get(norm, 0) | bit
            if r.regex:
                literal = required_literal(r.regex)
                # Anchors and word boundaries read the edges of a field, which the stored
                # text (every field in one) does not keep: only the substring is checked.
                pattern = None if _READS_EDGES.search(r.regex) else re.compile(r.regex, re.IGNORECASE)
                if literal is None and pattern is None:
                    self._always |= bit
                else:
                    self._regexes.append((bit, literal, pattern))
        self._words = words
        self._mask = self._masker(sum(self.bit.values()))
        self._cache: dict[int, frozenset[str]] = {}

    def _masker(self, every: int) -> Callable[[str], int]:
        """A function giving, of the rules in ``every`` (bits), those that may match a
        story with this normalized text (bits)."""
        always = self._always & every
        regexes = [(bit, literal, pattern) for bit, literal, pattern in self._regexes if bit & every]
        automaton: Any = ahocorasick.Automaton()
        for word, bits in self._words.items():
            if bits & every:
                automaton.add_word(word, bits & every)
        find = None
        if len(automaton):
            automaton.make_automaton()
            find = automaton.iter

        def mask_of(text: str) -> int:
            mask = always
            if find is not None:
                for _end, bits in find(text):
                    mask |= bits
            for bit, literal, pattern in regexes:
                if mask & bit or (literal is not None and literal not in text):
                    continue
                if pattern is None or pattern.search(text):
                    mask |= bit
            return mask

        return mask_of

    def candidates(self, texts: Iterable[tuple[int, str]], names: Iterable[str]) -> dict[str, list[int]]:
        """For each rule in ``names``, the ids among ``texts`` ((id, text_norm) pairs)
        that it may match."""
        wanted = {self.bit[n]: n for n in names if n in self.bit}
        out: dict[str, list[int]] = {n: [] for n in wanted.values()}
        lists = [(bit, out[name]) for bit, name in wanted.items()]
        mask_of = self._masker(sum(wanted))
        for story, text in texts:
            mask = mask_of(text)
            if mask:
                for bit, ids in lists:
                    if mask & bit:
                        ids.append(story)
        return out

    def matches(self, story: Story) -> frozenset[str]:
        """The rules that match a story (its ``text_norm``, when it has one, skips the work
        when nothing can match)."""
        cached = self._cache.get(story.id)
        if cached is not None:
            return cached
        names: set[str] = set()
        if story.text_norm is None or self._mask(story.text_norm):
            for event in self.events:
                names.update(m.rule for m in self.ruleset.match(story, event=event))
        result = frozenset(names)
        self._cache[story.id] = result
        return result

    def ranking_matches(self, movement: Movement) -> list[str]:
        if not self.ranking_rules:
            return []
        return [m.rule for m in self.ruleset.match_ranking(movement)]


def required_literal(pattern: str) -> str | None:
    """The longest plain run of characters that every match of ``pattern`` contains, in
    the stored text's normal form, or None when there is none to rely on (alternation at
    the top, inline flags, characters whose case folding is not one to one)."""
    if re.search(r"\(\?[aiLmsux-]", pattern):
        return None  # inline flags: verbose mode changes what is literal
    runs: list[str] = []
    run: list[str] = []
    depth = i = 0

    def close() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            escaped = pattern[i + 1 : i + 2]
            if depth == 0 and escaped and not escaped.isalnum():
                run.append(escaped)  # an escaped punctuation mark stands for itself
            else:
                close()
            i += 2
            continue
        if c == "[":  # a character class: skip to its end
            close()
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "|":
            if depth == 0:
                return None
        elif c in "*?{":
            if run:
                run.pop()  # the character before may be absent
            close()
            if c == "{":
                i = pattern.find("}", i) if "}" in pattern[i:] else len(pattern)
        elif c in "()+.^$":
            close()
            depth += {"(": 1, ")": -1}.get(c, 0)
        elif depth == 0:
            run.append(c)
        i += 1
    close()
    safe = [r for r in runs if all(len(ch.lower()) == 1 and ch.lower() == ch.casefold() for ch in r)]
    best = max((normalize(r) for r in safe), key=len, default="")
    return best or None


def rule_groups(
    conn: Connection, index: GroupIndex, matcher: RuleMatcher, names: Iterable[str], limit: int
) -> dict[str, list[int]]:
    """For each rule, the newest ``limit`` groups with a story the rule matches.

    One pass over the stored normalized text finds each rule's candidates; they are then
    confirmed newest first, a chunk at a time, until the rule has ``limit`` groups newer
    than the next candidate. (A group is dated by its origin.)"""
    names = list(names)
    out: dict[str, list[int]] = {n: [] for n in names}
    wanted = [n for n in names if n in matcher.bit]
    if not wanted or limit <= 0:
        return out
    position = index.position
    step = max(limit * 2, 50)
    for name, candidates in matcher.candidates(sql.normalized_texts(conn), wanted).items():
        ids = sorted((i for i in candidates if i in position), key=position.__getitem__)
        found: dict[int, int] = {}
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            rows = sql.entry_rows(conn, chunk)
            for sid in chunk:
                if sid in rows and name in matcher.matches(rows[sid]):
                    group = index.group_of(sid)
                    found[group] = position.get(group, position[sid])
            following = position[ids[start + step]] if start + step < len(ids) else len(position)
            if sum(1 for pos in found.values() if pos < following) >= limit:
                break
        out[name] = sorted(found, key=found.__getitem__)[:limit]
    return out
