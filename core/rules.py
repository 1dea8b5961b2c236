"""Rules say what matched, nothing more: which channels hear of it is the outbox's business.

Every keyword and exclude word of every rule sits in one Aho-Corasick automaton
(pyahocorasick), run once over each text a story offers, so matching costs about the same
with ten rules or a thousand. Texts are core.text.normalize()d (NFKC, case folded,
whitespace folded: ＡＳＥＡＮ, ａｓｅａｎ and ASEAN are one keyword). A rule on every field
(the default) reads the story's whole normalised text, which the store has already
computed when it hands the save hook a row (``text_norm``); a rule on some fields reads
those fields, each normalised on its own.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick

from core.text import normalize

if TYPE_CHECKING:
    from core.config import RuleConfig
    from core.model import Movement, Story

__all__ = ["FIELDS", "Rule", "RuleMatch", "RuleSet", "ranking_rule_matches", "required_text", "whole_text"]

FIELDS = ("title", "summary", "body")
ALL = "all"  # the scope of a rule on every field: the story's whole normalised text


@dataclass(frozen=True)
class RuleMatch:
    rule: str
    matched: list[str]  # the keywords as configured (for a regex: the text it matched)


@dataclass(frozen=True)
class Rule:
    """A rule ready for matching; built from a RuleConfig."""

    name: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...]
    regex: re.Pattern[str] | None
    fields: frozenset[str]
    sources: frozenset[str]  # empty: every source
    on: frozenset[str]
    notify: tuple[str, ...]

    @classmethod
    def from_config(cls, config: RuleConfig) -> Rule:
        # The text is case-folded before matching; IGNORECASE lets a pattern written with
        # capitals (e.g. "F-35[AB]") still read it.
        regex = re.compile(config.regex, re.IGNORECASE) if config.regex else None
        return cls(
            name=config.name,
            keywords=tuple(config.keywords),
            exclude=tuple(config.exclude),
            regex=regex,
            fields=frozenset(config.fields),
            sources=frozenset(config.sources),
            on=frozenset(config.on),
            notify=tuple(config.notify),
        )

    def takes(self, event: str, source: str | None) -> bool:
        return event in self.on and (not self.sources or source in self.sources)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The texts this rule reads."""
        return (ALL,) if self.fields >= set(FIELDS) else tuple(f for f in FIELDS if f in self.fields)


def whole_text(story: Story) -> str:
    """The story's normalised text as the store keeps it (``stories.text_norm``)."""
    if story.text_norm is not None:
        return story.text_norm
    return normalize(f"{story.title or ''}\n{story.summary or ''}\n{story.body or ''}")


def _bytes_text(text: str) -> str:
    """``text`` as its UTF-8 bytes, one character per byte. pyahocorasick looks a node's
    transitions up one by one, and a thousand Japanese keywords start with hundreds of
    different characters; over bytes a node has at most a few dozen, which makes a pass
    about twice as fast. UTF-8 is self-synchronising, so a keyword's bytes occur in a
    text's bytes exactly where the keyword occurs in the text."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def required_text(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Texts one of which every match of ``pattern`` contains (on case-folded text), or
    None when that cannot be told. Python's ``re`` tries a pattern that does not start with
    a literal at every position of the text; checking first with ``in`` for a literal part
    it cannot match without (``駐屯地`` in ``[一-龥]{2}駐屯地``) skips most searches."""
    try:
        sre = importlib.import_module("re._constants")
        parser = importlib.import_module("re._parser")

        items = list(parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # a private module: if it ever changes, search without the shortcut
        return None

    def plain(code: int) -> bool:
        # ASCII (the text is case-folded; IGNORECASE variants such as the Kelvin sign are
        # gone after NFKC) or a character without case (kanji, kana, digits).
        char = chr(code)
        return char.isascii() or char.lower() == char == char.upper()

    def runs(sequence: Any) -> list[str]:
        out, current = [], []
        for op, arg in sequence:
            if op is sre.LITERAL and plain(arg):
                current.append(chr(arg).lower())
                continue
            if current:
                out.append("".join(current))
                current = []
        if current:
            out.append("".join(current))
        return out

    literal = runs(items)
    if literal:
        return (max(literal, key=len),)
    for op, arg in items:  # every item of the top level is needed; an alternation is one
        if op is sre.BRANCH:
            choices = [runs(branch) for branch in arg[1]]
            if all(choices):
                return tuple(max(c, key=len) for c in choices)
    return None


# What an automaton word means: (rule index, keyword index), keyword index -1 for an
# exclude word.
_Entry = tuple[int, int]


class RuleSet:
    """Every configured rule, compiled for fast matching."""

    def __init__(self, rules: Sequence[Rule], ranking: Sequence[RuleConfig] = ()) -> None:
        self.rules = tuple(rules)
        self._by_name = {r.name: r for r in self.rules}
        self._ranking_configs = tuple(r for r in ranking if "ranking" in r.on)
        self._rule_scopes = [r.scopes for r in self.rules]
        self._scopes_used = tuple(s for s in (ALL, *FIELDS) if any(s in rs for rs in self._rule_scopes))
        # word id -> entries, one table per scope: a rule only hears what it reads.
        self._tables: dict[str, dict[int, list[_Entry]]] = {s: {} for s in (ALL, *FIELDS)}
        self._automaton = ahocorasick.Automaton()
        self._word_ids: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            for j, keyword in enumerate(rule.keywords):
                self._add_keyword(keyword, (i, j), self._rule_scopes[i])
            for word in rule.exclude:
                self._add_keyword(word, (i, -1), self._rule_scopes[i])
        # Regexes: rules sharing a pattern share its search, and a pattern is only searched
        # in a text where the automaton saw a literal part it cannot match without.
        self._patterns: dict[re.Pattern[str], list[int]] = {}
        for i, rule in enumerate(self.rules):
            if rule.regex is not None:
                self._patterns.setdefault(rule.regex, []).append(i)
        self._needs: dict[re.Pattern[str], frozenset[int] | None] = {}
        for pattern in self._patterns:
            parts = required_text(pattern)
            self._needs[pattern] = None if parts is None else frozenset(self._word(p) for p in parts)
        self._pattern_cache: dict[tuple[str, str | None], list[tuple[re.Pattern[str], list[int]]]] = {}
        if self._word_ids:
            self._automaton.make_automaton()

    def _word(self, text: str) -> int:
        """The automaton's id for ``text``, added if new."""
        wid = self._word_ids.get(text)
        if wid is None:
            wid = self._word_ids[text] = len(self._word_ids)
            self._automaton.add_word(_bytes_text(text), wid)
        return wid

    def _add_keyword(self, word: str, entry: _Entry, scopes: Iterable[str]) -> None:
        norm = normalize(word)
        if not norm:
            return  # a keyword of only spaces would match everything
        wid = self._word(norm)
        for scope in scopes:
            self._tables[scope].setdefault(wid, []).append(entry)

    @classmethod
    def from_config(cls, rules: Sequence[RuleConfig]) -> RuleSet:
        return cls([Rule.from_config(r) for r in rules], rules)

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, name: str) -> Rule:
        return self._by_name[name]

    # -- stories -----------------------------------------------------------------------------
    def _scan(self, text: str) -> set[int]:
        if not text or not self._word_ids:
            return set()
        return {wid for _end, wid in self._automaton.iter(_bytes_text(text))}

    def match(self, story: Story, event: str = "new") -> list[RuleMatch]:
        """The rules a story matches for ``event`` (new | revised), in configuration order
        (its ``text_norm`` is used when it has one)."""
        source = story.source
        texts = {
            scope: whole_text(story) if scope == ALL else normalize(getattr(story, scope) or "")
            for scope in self._scopes_used
        }
        seen = {scope: self._scan(text) for scope, text in texts.items()}
        found: dict[int, set[int]] = {}
        excluded: set[int] = set()
        for scope, wids in seen.items():
            table = self._tables[scope]
            for wid in wids:
                for i, j in table.get(wid, ()):
                    if j < 0:
                        excluded.add(i)
                    else:
                        found.setdefault(i, set()).add(j)
        regex_found = self._search_patterns(texts, seen, excluded, event, source)
        out: list[RuleMatch] = []
        for i in sorted(found.keys() | regex_found.keys()):
            rule = self.rules[i]
            if i in excluded or not rule.takes(event, source):
                continue
            matched = [rule.keywords[j] for j in sorted(found.get(i, ()))]
            matched += [m for m in regex_found.get(i, ()) if m not in matched]
            out.append(RuleMatch(rule.name, matched))
        return out

    def _patterns_for(self, event: str, source: str | None) -> list[tuple[re.Pattern[str], list[int]]]:
        """The patterns, each with those of its rules that take this event from this source."""
        key = (event, source)
        cached = self._pattern_cache.get(key)
        if cached is None:
            cached = []
            for pattern, rule_ids in self._patterns.items():
                wanted = [i for i in rule_ids if self.rules[i].takes(event, source)]
                if wanted:
                    cached.append((pattern, wanted))
            self._pattern_cache[key] = cached
        return cached

    def _search_patterns(
        self,
        texts: Mapping[str, str],
        seen: Mapping[str, set[int]],
        excluded: set[int],
        event: str,
        source: str | None,
    ) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for pattern, rule_ids in self._patterns_for(event, source):
            needs = self._needs[pattern]
            searched: dict[str, str | None] = {}  # scope -> matched text: each searched once
            for i in rule_ids:
                if i in excluded:
                    continue
                hits: list[str] = []
                for scope in self._rule_scopes[i]:
                    if scope not in searched:
                        if needs is not None and needs.isdisjoint(seen[scope]):
                            searched[scope] = None
                        else:
                            m = pattern.search(texts[scope])
                            searched[scope] = m.group(0) if m else None
                    hit = searched[scope]
                    if hit is not None:
                        hits.append(hit)
                if hits:
                    found[i] = list(dict.fromkeys(hits))
        return found

    # -- ranking movements -------------------------------------------------------------------
    def match_ranking(self, movement: Movement) -> list[RuleMatch]:
        """The rules with ``ranking`` in ``on`` that a ranking movement fires. What a ranking rule means (its windows,
        sources, ``max_rank`` as a story coming into the top N, keywords on the title) is
        defined once, in ``ranking_rule_matches``."""
        out: list[RuleMatch] = []
        for config in self._ranking_configs:
            matched = ranking_rule_matches(config, movement)
            if matched is not None:
                out.append(RuleMatch(config.name, matched))
        return out


# -- ranking rules ---------------------------------------------------------------------------

_LIST_ENTRIES = ("entered", "returned")  # a story coming onto the list
_CROSSINGS = ("entered", "returned", "climbed")  # a story coming into the top max_rank


def ranking_rule_matches(rule: RuleConfig, movement: Movement) -> list[str] | None:
    """Whether a ranking rule fires on a movement: None when not; else the matched
    keywords (as configured), plus the regex's matched text, empty for a rule without
    either.

    A rule fires when a story comes *into* the part of the list it watches: with
    ``max_rank = N``, an entered, returned or climbed story now at rank N or better that
    was not there before (a move within the top N does not fire again); without
    ``max_rank``, a story entering or returning to the list. ``new_1`` never fires by
    itself (the same story's entered/returned/climbed movement does), nor do ``fell``
    and ``left``. Also checked: ``on`` includes "ranking", ``windows``, ``sources``, and
    keywords, regex and exclude on the title only (NFKC, case-folded, like story rules).
    """
    if "ranking" not in rule.on or movement.window not in rule.windows:
        return None
    if rule.sources and movement.source not in rule.sources:
        return None
    if not _comes_into_view(movement, rule.max_rank):
        return None
    title = normalize(movement.title or "")
    if any(normalize(x) in title for x in rule.exclude if normalize(x)):
        return None
    matched = [k for k in rule.keywords if normalize(k) and normalize(k) in title]
    if rule.regex is not None:
        found = re.search(rule.regex, title, re.IGNORECASE)  # the text story rules search
        if found:
            matched.append(found.group(0))
    if (rule.keywords or rule.regex is not None) and not matched:
        return None
    return matched


def _comes_into_view(movement: Movement, max_rank: int | None) -> bool:
    if max_rank is None:
        return movement.kind in _LIST_ENTRIES
    rank, before = movement.rank, movement.previous_rank
    if movement.kind not in _CROSSINGS or rank is None or rank > max_rank:
        return False
    return before is None or before > max_rank
