"""Feed files from the store: ``all``, one per source, per rule and per ranking window, each
as RSS 2.0 and Atom 1.0 (feedgen), and ``index.opml`` listing them (interface.md "Feeds").

A feed entry is a group of stories: the origin, with its copies' URLs in the content. Its
id comes from the origin's url_key, its ``updated`` from the origin's last revision or the
last copy linked to it, and a feed's own date from its newest entry, so an unchanged store
renders byte-identical files, and a file is rewritten (atomically) only when its bytes
change: Last-Modified and ETag stay meaningful for the readers polling it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from html import escape as html_escape
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import ahocorasick
from feedgen.feed import FeedGenerator

from alerts.rules import RuleSet
from crawler.text import normalize, summarize
from scheduler.config import RANKING_WINDOWS
from store import feeds as sql
from store.rankings import recent_events
from store.urls import url_key

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from scheduler.config import Config, RuleConfig
    from store.db import Store

__all__ = ["BuildReport", "FeedSpec", "build_all", "build_changed", "feed_specs"]

log = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")
TAG = "tag:defwatch,2025:"  # ids are tag: URIs (RFC 4151), independent of where feeds are served
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed that has never had an entry
SUMMARY_CHARS = 300
FORMATS: dict[str, str] = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
SUBFOLDERS = ("sources", "rules", "ranking")

# XML 1.0 cannot carry these at all (lxml refuses them): they are dropped from every text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A story's id in an Atom file this module wrote (see story_id).
_STORY_ID = re.compile(r"<entry>\s*<id>" + re.escape(TAG) + r"story:([^<]*)</id>")
# Anchors and word boundaries in a rule's regex (see RuleMatcher).
_READS_EDGES = re.compile(r"(?<!\\)[$^]|\\[AZbB]")


# --------------------------------------------------------------------------------------
# What is built
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedSpec:
    """One feed, written in both formats: ``<path>.rss`` and ``<path>.atom``."""

    path: str  # "all", "sources/mod", "rules/asean", "ranking/24h"
    kind: str  # all | source | rule | ranking
    name: str  # the source, rule or window; "all" for all
    title: str
    description: str
    link: str  # the page the feed is about (its alternate link)

    def file(self, fmt: str) -> str:
        return f"{self.path}.{fmt}"


@dataclass
class BuildReport:
    """What a build did, relative paths under the feed folder."""

    folder: Path
    built: list[str] = field(default_factory=list)  # feeds recomputed (paths without extension)
    written: list[str] = field(default_factory=list)  # files whose content changed
    unchanged: list[str] = field(default_factory=list)  # files recomputed, byte-identical
    removed: list[str] = field(default_factory=list)  # files of feeds no longer configured
    seconds: float = 0.0


def _base(config: Config) -> str:
    base = config.feeds.base_url
    return base if base.endswith("/") else base + "/"


def feed_specs(config: Config) -> list[FeedSpec]:
    """Every feed the configuration asks for, in index order."""
    base = _base(config)
    specs = [
        FeedSpec(
            "all", "all", "all", "defwatch: all stories", "Every story defwatch stored, newest first", base
        )
    ]
    for s in config.sources:
        specs.append(
            FeedSpec(
                f"sources/{s.name}",
                "source",
                s.name,
                f"defwatch: {s.name}",
                f"Stories from {s.name} ({s.url}), newest first",
                s.url,
            )
        )
    for r in config.rules:
        specs.append(
            FeedSpec(
                f"rules/{r.name}",
                "rule",
                r.name,
                f"defwatch: rule {r.name}",
                f"What the rule {r.name} matched, newest first",
                base,
            )
        )
    for w in RANKING_WINDOWS:
        specs.append(
            FeedSpec(
                f"ranking/{w}",
                "ranking",
                w,
                f"defwatch: ranking movements ({w})",
                f"Stories entering, leaving, climbing and falling in the {w} reading rankings",
                base,
            )
        )
    return specs


# --------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    summary: str  # plain text
    also: tuple[tuple[str, str], ...] = ()  # (url, source) of the copies
    categories: tuple[tuple[str, str], ...] = ()  # (scheme, term)

    def content_html(self) -> str:
        parts = [f"<p>{html_escape(self.summary)}</p>"] if self.summary else []
        if self.also:
            items = "".join(
                f'<li><a href="{html_escape(url)}">{html_escape(url)}</a> ({html_escape(src)})</li>'
                for url, src in self.also
            )
            parts.append(f"<p>Also published at:</p><ul>{items}</ul>")
        return "".join(parts)


def story_id(key: str) -> str:
    """The guid / Atom id of the story with this url_key: the same in every feed and build."""
    return f"{TAG}story:{key.removeprefix('//')}"


def event_id(event: Mapping[str, Any]) -> str:
    """A ranking movement's id, from what identifies it (not its row id, which a recompute
    of the movements may change)."""
    at = event["at"].astimezone(UTC).isoformat()
    raw = "|".join((event["source"], event["window"], event["kind"], url_key(event["url"]), at))
    return f"{TAG}ranking:{event['window']}:{hashlib.sha256(raw.encode()).hexdigest()[:24]}"


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _event_title(e: Mapping[str, Any]) -> str:
    rank, prev, title = e.get("rank"), e.get("previous_rank"), _clean(e.get("title"))
    kind = e["kind"]
    if kind == "new_1":
        return f"New #1: {title}"
    if kind == "entered":
        return f"Entered at #{rank}: {title}"
    if kind == "returned":
        return f"Back at #{rank}: {title}"
    if kind == "climbed":
        return f"Up to #{rank} from #{prev}: {title}"
    if kind == "fell":
        return f"Down to #{rank} from #{prev}: {title}"
    if kind == "left":
        return f"Left the ranking (was #{prev}): {title}"
    return f"{kind} #{rank}: {title}"


# --------------------------------------------------------------------------------------
# Groups of stories and what rules match them
# --------------------------------------------------------------------------------------


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


class RuleMatcher:
    """alerts.rules decides what a rule matches; this only spares it the stories that
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

    def matches(self, story: Mapping[str, Any]) -> frozenset[str]:
        """The rules that match a story (a row with id, title, summary, body, source and,
        to skip the work when nothing can match, text_norm)."""
        cached = self._cache.get(story["id"])
        if cached is not None:
            return cached
        names: set[str] = set()
        if "text_norm" not in story or self._mask(story["text_norm"]):
            for event in self.events:
                names.update(m.rule for m in self.ruleset.match(story, event=event))
        result = frozenset(names)
        self._cache[story["id"]] = result
        return result

    def ranking_matches(self, event: Mapping[str, Any]) -> list[str]:
        if not self.ranking_rules:
            return []
        return [m.rule for m in self.ruleset.match_ranking(event)]


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
    conn: Connection, index: StoryIndex, matcher: RuleMatcher, names: Iterable[str], limit: int
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


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def render(spec: FeedSpec, entries: Sequence[Entry], base_url: str) -> dict[str, bytes]:
    """One feed as RSS 2.0 and Atom 1.0 bytes, by format; the same entries always give
    the same bytes."""
    fg = FeedGenerator()
    fg.id(f"{TAG}feed:{spec.path}")
    fg.title(spec.title)
    fg.description(spec.description)
    fg.language("ja")
    fg.author(name="defwatch")
    fg.generator("defwatch")
    fg.updated(max((e.updated for e in entries), default=EPOCH).astimezone(JST))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(e.id)
        fe.guid(e.id, permalink=False)
        fe.title(_clean(e.title) or "(untitled)")
        fe.link(href=e.link, rel="alternate")
        fe.published(e.published)
        fe.updated(e.updated)
        if e.summary:
            # RSS readers take description as HTML: escaped once, it shows as text.
            fe.summary(f"<p>{html_escape(e.summary)}</p>", type="html")
        if e.also:
            fe.content(e.content_html(), type="html")
        for scheme, term in e.categories:
            fe.category(term=term, scheme=f"{TAG}{scheme}", label=f"{scheme}: {term}")
    out: dict[str, bytes] = {}
    for fmt, mime in FORMATS.items():
        # The alternate link goes last: feedgen makes the last link the RSS channel link.
        fg.link(
            [
                {"href": f"{base_url}{spec.file(fmt)}", "rel": "self", "type": mime},
                {"href": spec.link, "rel": "alternate"},
            ],
            replace=True,
        )
        out[fmt] = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return out


def render_opml(specs: Sequence[FeedSpec], base_url: str) -> bytes:
    """index.opml: every feed in both formats, with its title, grouped by kind."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "defwatch feeds"
    body = ET.SubElement(root, "body")
    groups = {"all": "All stories", "source": "Sources", "rule": "Rules", "ranking": "Ranking movements"}
    for kind, label in groups.items():
        members = [s for s in specs if s.kind == kind]
        if not members:
            continue
        folder = ET.SubElement(body, "outline", text=label, title=label)
        for s in members:
            for fmt, name in (("rss", "RSS"), ("atom", "Atom")):
                title = f"{s.title} ({name})"
                ET.SubElement(
                    folder,
                    "outline",
                    type="rss",
                    version="RSS2" if fmt == "rss" else "ATOM",
                    text=title,
                    title=title,
                    xmlUrl=f"{base_url}{s.file(fmt)}",
                    htmlUrl=s.link,
                )
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file and a rename, unless the file
    already holds exactly these bytes. True when the file was written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the feeds are for anyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.folder = Path(config.feeds.dir)
        self.base = _base(config)
        self.limit = config.feeds.max_items
        self.specs = feed_specs(config)
        self.tz: dict[str, tzinfo] = {s.name: s.tz for s in config.sources}
        self.matcher = RuleMatcher(config.rules)
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._changed: set[int] | None = None  # stories changed since the last build, if known

    def zone(self, source: str) -> tzinfo:
        return self.tz.get(source, JST)

    # -- choosing what to build -------------------------------------------------------------
    def changed_specs(self, conn: Connection, since: datetime) -> list[FeedSpec]:
        """The feeds whose data changed since ``since``, and any whose files are missing."""
        changed = sql.changed_since(conn, since)
        touched: set[int] = set(changed)
        self._changed = changed
        if changed:
            groups = Groups(sql.copy_links(conn))
            for sid in changed:
                touched.update(groups.members(groups.group_of(sid)))
        rows = sql.entry_rows(conn, touched) if touched else {}
        sources = {r["source"] for r in rows.values()}
        rules: set[str] = set()
        for row in rows.values():
            rules |= self.matcher.matches(row)
        # A story may also leave a feed (it became a copy, or a revision no longer matches
        # a rule): any feed whose file shows a changed story is rebuilt too.
        ids = [xml_escape(story_id(rows[i]["url_key"])).encode() for i in changed if i in rows]
        windows: set[str] = set()
        for w in RANKING_WINDOWS:
            if recent_events(self.store, None, w, 1, since=since):
                windows.add(w)
        if windows:
            rules.update(self.matcher.ranking_rules)
        names = {"all": {"all"} if changed else set(), "source": sources, "rule": rules, "ranking": windows}
        return [
            spec
            for spec in self.specs
            if spec.name in names[spec.kind]
            or any(not (self.folder / spec.file(f)).exists() for f in FORMATS)
            or (spec.kind in ("source", "rule") and ids and self._shows_any(spec, ids))
        ]

    def updated_rules(
        self, conn: Connection, index: StoryIndex, names: Sequence[str]
    ) -> tuple[dict[str, list[int]], list[str]]:
        """Rule feeds brought up to date without reading every story: what the file
        shows, plus the changed stories' groups that match now. A feed where a group it
        showed no longer matches (or is gone, or the file cannot be read) needs a full
        search: an older match may have to fill its place. Returns the updated feeds'
        groups and the rules left to search."""
        touched = {index.group_of(s) for s in self._changed or ()}
        rows = sql.entry_rows(conn, {m for g in touched for m in index.members(g)})
        done: dict[str, list[int]] = {}
        left: list[str] = []
        for name in names:
            shown = self._shown_groups(conn, index, f"rules/{name}")
            if shown is None or name not in self.matcher.bit:
                left.append(name)
                continue

            def matches(group: int, rule: str = name) -> bool:
                return any(m in rows and rule in self.matcher.matches(rows[m]) for m in index.members(group))

            if not all(g in index.position and (g not in touched or matches(g)) for g in shown):
                left.append(name)
                continue
            groups = shown | {g for g in touched if g in index.position and matches(g)}
            done[name] = sorted(groups, key=index.position.__getitem__)[: self.limit]
        return done, left

    def _shown_groups(self, conn: Connection, index: StoryIndex, path: str) -> set[int] | None:
        """The groups (origins, as they are now) a feed file shows, None if unreadable."""
        try:
            data = (self.folder / f"{path}.atom").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        keys = ["//" + unescape(k) for k in _STORY_ID.findall(data)]
        found = sql.ids_by_url_key(conn, keys)
        if len(found) != len(set(keys)):
            return None  # a story the file shows is gone
        return {index.group_of(i) for i in found.values()}

    def _shows_any(self, spec: FeedSpec, ids: Sequence[bytes]) -> bool:
        try:
            data = (self.folder / spec.file("atom")).read_bytes()
        except OSError:
            return True
        return any(i in data for i in ids)

    # -- entries ----------------------------------------------------------------------------
    def story_entries(
        self, conn: Connection, index: StoryIndex, chosen: dict[FeedSpec, list[int]]
    ) -> dict[FeedSpec, list[Entry]]:
        origins = {o for groups in chosen.values() for o in groups}
        members = {m for o in origins for m in index.members(o)}
        rows = sql.entry_rows(conn, members)
        entries: dict[int, Entry] = {}
        for origin in origins:
            if origin in rows:
                entries[origin] = self.story_entry(index, rows, origin)
        return {spec: [entries[o] for o in groups if o in entries] for spec, groups in chosen.items()}

    def story_entry(self, index: StoryIndex, rows: Mapping[int, Mapping[str, Any]], origin: int) -> Entry:
        row = rows[origin]
        copies = [rows[c] for c in index.copies.get(origin, ()) if c in rows]
        zone = self.zone(row["source"])
        updated = max([row["updated"], *(index.linked_at[c["id"]] for c in copies)])
        rules: set[str] = set()
        for member in (row, *copies):
            rules |= self.matcher.matches(member)
        categories = [("source", row["source"])]
        if row["section"]:
            categories.append(("section", _clean(row["section"])))
        categories += [("rule", name) for name in sorted(rules)]
        summary = row["summary"] or (summarize(row["body"], SUMMARY_CHARS) if row["body"] else "")
        return Entry(
            id=story_id(row["url_key"]),
            title=_clean(row["title"]),
            link=row["url"],
            published=(row["published"] or row["fetched"]).astimezone(zone),
            updated=updated.astimezone(zone),
            summary=_clean(summary),
            also=tuple((c["url"], c["source"]) for c in copies),
            categories=tuple(categories),
        )

    def events(self, window: str) -> list[dict[str, Any]]:
        if window not in self._events:
            # A rule feed of movements filters them: read more than one feed shows.
            self._events[window] = recent_events(self.store, None, window, max(self.limit * 5, 200))
        return self._events[window]

    def event_entry(self, event: Mapping[str, Any]) -> Entry:
        zone = self.zone(event["source"])
        at = event["at"].astimezone(zone)
        rank = f"#{event['rank']}" if event.get("rank") is not None else "off the list"
        summary = f"{event['source']} {event['window']} ranking: {_clean(event['title'])} ({rank})"
        return Entry(
            id=event_id(event),
            title=_event_title(event),
            link=event["url"],
            published=at,
            updated=at,
            summary=summary,
            categories=(
                ("source", event["source"]),
                ("window", event["window"]),
                ("movement", event["kind"]),
            ),
        )

    def ranking_entries(self, spec: FeedSpec) -> list[Entry]:
        return [self.event_entry(e) for e in self.events(spec.name)[: self.limit]]

    def rule_event_entries(self, name: str) -> list[Entry]:
        if name not in self.matcher.ranking_rules:
            return []
        return [
            self.event_entry(e)
            for w in RANKING_WINDOWS
            for e in self.events(w)
            if name in self.matcher.ranking_matches(e)
        ]

    # -- the whole build --------------------------------------------------------------------
    def build(self, since: datetime | None) -> BuildReport:
        started = time.perf_counter()
        report = BuildReport(self.folder)
        with self.store.engine.connect() as conn:
            # One connection, one read transaction: every feed sees the same store.
            specs = self.specs if since is None else self.changed_specs(conn, since)
            story_feeds: dict[FeedSpec, list[Entry]] = {}
            if any(spec.kind != "ranking" for spec in specs):
                index = StoryIndex(sql.story_order(conn), sql.copy_links(conn))
                rules = [s.name for s in specs if s.kind == "rule"]
                by_rule: dict[str, list[int]] = {}
                if rules and since is not None:
                    by_rule, rules = self.updated_rules(conn, index, rules)
                if rules:
                    by_rule.update(rule_groups(conn, index, self.matcher, rules, self.limit))
                chosen: dict[FeedSpec, list[int]] = {}
                for spec in specs:
                    if spec.kind == "all":
                        chosen[spec] = index.newest(self.limit)
                    elif spec.kind == "source":
                        chosen[spec] = index.newest(self.limit, spec.name)
                    elif spec.kind == "rule":
                        chosen[spec] = by_rule.get(spec.name, [])
                story_feeds = self.story_entries(conn, index, chosen)
        for spec in specs:
            if spec.kind == "ranking":
                entries = self.ranking_entries(spec)
            else:
                entries = story_feeds[spec]
                if spec.kind == "rule":
                    entries = self._merge(entries, self.rule_event_entries(spec.name))
            self._write(spec, entries, report)
        self._write_file("index.opml", render_opml(self.specs, self.base), report)
        if since is None:
            self._prune(report)
        report.seconds = time.perf_counter() - started
        log.info(
            "feeds: %d built, %d files written, %d unchanged (%.2f s)",
            len(report.built),
            len(report.written),
            len(report.unchanged),
            report.seconds,
        )
        return report

    def _merge(self, stories: list[Entry], events: list[Entry]) -> list[Entry]:
        if not events:
            return stories
        merged = sorted(stories + events, key=lambda e: (e.published, e.id), reverse=True)
        return merged[: self.limit]

    def _write(self, spec: FeedSpec, entries: Sequence[Entry], report: BuildReport) -> None:
        report.built.append(spec.path)
        for fmt, data in render(spec, entries, self.base).items():
            self._write_file(spec.file(fmt), data, report)

    def _write_file(self, name: str, data: bytes, report: BuildReport) -> None:
        if write_if_changed(self.folder / name, data):
            report.written.append(name)
        else:
            report.unchanged.append(name)

    def _prune(self, report: BuildReport) -> None:
        """Remove the files of feeds no longer configured (a rule or source taken out)."""
        expected = {spec.file(fmt) for spec in self.specs for fmt in FORMATS}
        for sub in SUBFOLDERS:
            folder = self.folder / sub
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                rel = f"{sub}/{path.name}"
                if path.suffix[1:] in FORMATS and path.is_file() and rel not in expected:
                    path.unlink()
                    report.removed.append(rel)


def build_all(config: Config, store: Store) -> BuildReport:
    """Rebuild every feed and index.opml from the store; remove feeds no longer configured."""
    return _Builder(config, store).build(since=None)


def build_changed(config: Config, store: Store, since: datetime) -> BuildReport:
    """Rebuild only the feeds whose data changed at or after ``since`` (stories saved or
    revised, copies linked, ranking movements), plus any feed whose files are missing;
    what a crawl calls when it is done, with ``since`` the time the crawl started."""
    return _Builder(config, store).build(since=since)
